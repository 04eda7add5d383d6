"""Ports of the stores: the match log with its feedback, the gap log, API keys, duplicates.

Services depend on these Protocols only. The SQLite implementations live in
``simatch.stores.sqlite`` and are built by ``simatch.stores.factory``; another backend
(PostgreSQL) implements the same Protocols next to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel

from simatch.domain.keys import ApiKey
from simatch.domain.ports import FeedbackBoosts, Vector
from simatch.domain.records import KINDS

Verdict = Literal["useful", "not_useful"]
VERDICTS: tuple[Verdict, ...] = ("useful", "not_useful")


def item_key(kind: str, item_id: str) -> str | None:
    """The index key the Matcher ranks, for items that are records (feedback on a grouped
    item, an organisation or a funder, is kept for staff but moves no ranking)."""
    return f"{kind}:{item_id}" if kind in KINDS else None


@dataclass(frozen=True)
class LoggedMatch:
    match_id: str
    created: datetime
    language: str | None
    items: tuple[tuple[str, str], ...]  # (kind, id) in the order returned


@dataclass(frozen=True)
class FeedbackEntry:
    id: int
    match_id: str
    item_id: str
    item_kind: str
    verdict: Verdict
    reason: str | None
    source: str
    created: datetime
    language: str | None


@dataclass(frozen=True)
class Gap:
    """A question without a good match: never who asked."""

    id: int
    created_at: datetime
    platform: str  # where it was asked: api, cli, slack, teams
    language: str
    text: str
    regions: tuple[str, ...]
    match_id: str | None


class DuplicateFlag(BaseModel):
    """Two records that say the same thing; flagged for staff, never merged silently."""

    key: str
    other: str
    score: float


@dataclass(frozen=True)
class DuplicatePair:
    a: str  # record key, "kind:id"
    b: str
    score: float
    found: datetime | None


class MatchLog(Protocol):
    """Every match (id, query vector, language, items; never the text), for feedback."""

    def log_match(
        self, match_id: str, vector: Vector, language: str | None, items: Sequence[tuple[str, str]]
    ) -> None: ...

    def get_match(self, match_id: str) -> LoggedMatch | None: ...


class FeedbackLog(MatchLog, FeedbackBoosts, Protocol):
    """The match log plus the feedback on it; its votes are the Matcher's boosts."""

    def add_feedback(
        self,
        match_id: str,
        item_id: str,
        item_kind: str,
        verdict: Verdict,
        reason: str | None,
        source: str,
    ) -> FeedbackEntry: ...

    def list_feedback(
        self,
        limit: int = 50,
        before: int | None = None,
        verdict: Verdict | None = None,
        item_id: str | None = None,
        source: str | None = None,
    ) -> list[FeedbackEntry]:
        """Newest first; ``before`` is the id of the last entry of the previous page."""
        ...

    def close(self) -> None: ...


class GapLog(Protocol):
    """Questions without a good match, for staff."""

    def record(
        self,
        text: str,
        language: str,
        platform: str,
        regions: tuple[str, ...] = (),
        match_id: str | None = None,
    ) -> int: ...

    def list(self, limit: int = 100, offset: int = 0) -> list[Gap]:
        """Newest first."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class KeyStore(Protocol):
    """API keys, stored hashed (``simatch.domain.keys``); the token is shown once."""

    def create(self, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        """A new key and its token; InvalidInput for a bad name or scope."""
        ...

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key with this token, or None; records when it was last used."""
        ...

    def list(self, include_revoked: bool = True) -> list[ApiKey]: ...

    def get(self, key_id: str) -> ApiKey:
        """NotFound for an unknown id."""
        ...

    def revoke(self, key_id: str) -> ApiKey:
        """Immediate and final; revoking twice keeps the first time."""
        ...

    def close(self) -> None: ...


class DuplicateStore(Protocol):
    """Near-duplicate flags found at ingest, for staff (``simatch duplicates``)."""

    def replace(self, keys: Sequence[str], flags: Sequence[DuplicateFlag]) -> None:
        """Forget the flags of ``keys`` (re-imported or deleted) and keep ``flags``."""
        ...

    def list(self, min_score: float = 0.0, limit: int = 1000) -> list[DuplicatePair]:
        """Highest score first."""
        ...

    def close(self) -> None: ...
