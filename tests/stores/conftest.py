"""The store contract runs once per backend: SQLite files in tmp_path, and PostgreSQL in the
session's temporary database with an empty schema per test (``tests/postgres.py``).

``backend`` is the ``StateBackend`` the factory builds stores on; ``Stores`` builds them
directly where a test needs a clock or a second instance (another process, another replica).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from simatch.config import IndexSettings, StateSettings
from simatch.stores.boosts import BoostRule
from simatch.stores.factory import StateBackend, open_state
from simatch.wiring import Closable
from tests.postgres import empty_schema

BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Stores:
    backend: StateBackend
    opened: list[Closable] = field(default_factory=list)

    @property
    def postgres(self) -> bool:
        return self.backend.database is not None

    def _keep(self, store: Any) -> Any:
        self.opened.append(store)
        return store

    def keys(self, clock: Callable[[], float]) -> Any:
        if self.backend.database is not None:
            from simatch.stores.postgres.keys import PgKeyStore

            return self._keep(PgKeyStore(self.backend.database, clock))
        from simatch.stores.sqlite.keys import FILE_NAME, SqliteKeyStore

        return self._keep(SqliteKeyStore(self.backend.data_dir / FILE_NAME, clock))

    def rate_buckets(self, clock: Callable[[], float]) -> Any:
        if self.backend.database is not None:
            from simatch.stores.postgres.rate_buckets import PgRateBuckets

            return self._keep(PgRateBuckets(self.backend.database, clock))
        from simatch.stores.memory import MemoryRateBuckets

        return self._keep(MemoryRateBuckets(clock))

    def feedback(
        self,
        model_id: str = "m",
        rule: BoostRule | None = None,
        log_size: int = 20_000,
        clock: Callable[[], float] | None = None,
    ) -> Any:
        import time

        clock = clock or time.time
        if self.backend.database is not None:
            from simatch.stores.postgres.feedback import PgFeedbackLog

            return self._keep(
                PgFeedbackLog(
                    self.backend.database, model_id, rule, log_size, clock, refresh_every=0.0
                )
            )
        from simatch.stores.factory import open_gap_log
        from simatch.stores.sqlite.feedback import FILE_NAME, SqliteFeedbackLog

        path = self.backend.data_dir / FILE_NAME
        gaps = self._keep(open_gap_log(self.backend))
        return self._keep(SqliteFeedbackLog(path, model_id, rule, log_size, clock, gaps=gaps))


def open_backend(kind: str, data_dir: Path, request: pytest.FixtureRequest) -> StateBackend:
    if kind == "sqlite":
        return StateBackend(data_dir)
    url = request.getfixturevalue("pg_url")
    empty_schema(url)
    return open_state(IndexSettings(data_dir=data_dir), StateSettings(database_url=url))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateBackend]:
    opened = open_backend(request.param, tmp_path / "data", request)
    yield opened
    opened.close()


@pytest.fixture
def stores(backend: StateBackend) -> Iterator[Stores]:
    made = Stores(backend)
    yield made
    for store in reversed(made.opened):
        store.close()
