"""Moving the state of an embedded installation to the PostgreSQL that replicas share
(``simatch migrate-state --to postgresql://...``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from simatch.errors import InvalidInput


class CopiedStore(Protocol):
    """Per store: rows read from SQLite, and rows added (not in PostgreSQL before)."""

    @property
    def store(self) -> str: ...

    @property
    def read(self) -> int: ...

    @property
    def added(self) -> int: ...


class StateMigrationService:
    """``copy(url)`` copies this installation's stores into the database at ``url``."""

    def __init__(self, copy: Callable[[str], Sequence[CopiedStore]]) -> None:
        self._copy = copy

    def migrate(self, to: str) -> Sequence[CopiedStore]:
        if not to.startswith(("postgresql://", "postgres://")):
            raise InvalidInput(
                "--to must be a PostgreSQL URL (postgresql://user:password@host:5432/db)",
                {"field": "to"},
            )
        return self._copy(to)
