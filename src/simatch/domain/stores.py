"""Ports of the stores: the match log with its feedback, the gap log, API keys, duplicates,
rate-limit buckets, chat threads, the embedding cache, and exclusive work.

Services depend on these Protocols only. The implementations live in ``simatch.stores``
(``sqlite/`` for one machine, ``postgres/`` for state that replicas share) and are built by
``simatch.stores.factory``; docs/stores.md says how a new store gets both.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

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


@dataclass(frozen=True)
class GapNote:
    """A first page without a good match, to be kept in the gap log with the match."""

    text: str
    language: str
    platform: str
    regions: tuple[str, ...] = ()


class MatchLog(Protocol):
    """Every match (id, query vector, language, items; never the text), for feedback."""

    def log_match(
        self,
        match_id: str,
        vector: Vector,
        language: str | None,
        items: Sequence[tuple[str, str]],
        gap: GapNote | None = None,
    ) -> None:
        """Log a match; with ``gap``, also record the question in the gap log, in the same
        write on a shared database (a match costs one write there)."""
        ...

    def get_match(self, match_id: str) -> LoggedMatch | None: ...

    def matches_showing(self, kind: str, item_id: str, limit: int = 20) -> list[LoggedMatch]:
        """The latest logged matches that returned this item, newest first (staff see what
        a record was shown for: when, in which language, at which place)."""
        ...

    def matches_per_day(self, since: datetime) -> dict[str, int]:
        """Logged matches per UTC day (``YYYY-MM-DD``) from ``since`` (the log is pruned:
        days beyond its size count only matches that got feedback)."""
        ...


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

    def feedback_per_day(self, since: datetime) -> dict[tuple[str, Verdict], int]:
        """Feedback entries per UTC day and verdict from ``since``."""
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

    def per_day(self, since: datetime) -> dict[str, int]:
        """Gaps recorded per UTC day from ``since``."""
        ...

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


class RateBuckets(Protocol):
    """Token buckets for rate limits, one per identity (``key:ID``, ``addr:IP``)."""

    def take(self, identity: str, per_minute: float, burst: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is back. Takes
        through every instance on a shared store are counted once (atomic)."""
        ...

    def close(self) -> None: ...


class ConversationStates(Protocol):
    """Chat threads' state as JSON documents by thread key; an entry expires ``ttl`` seconds
    after its last save, and the least recently saved go first beyond a bound."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, state: dict[str, Any]) -> None: ...

    def rebind(self, old: str, new: str) -> None:
        """Move a thread to another key (replacing what was there)."""
        ...

    def close(self) -> None: ...


class EmbeddingCache(Protocol):
    """Vectors by a key of model and text (``ingest.cache.text_key``)."""

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]: ...

    def put_many(self, items: dict[str, Vector]) -> None: ...

    def close(self) -> None: ...


class ExclusiveWork(Protocol):
    """Work that one process at a time may do (a source sync), across every process that
    shares the state: replicas on one PostgreSQL, or processes on one machine."""

    def exclusive(self, name: str, *, wait: bool = False) -> AbstractContextManager[bool]:
        """Hold the lock ``name`` for the block; yields whether it was taken."""
        ...
