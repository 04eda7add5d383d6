"""Rate-limit token buckets in PostgreSQL (``RateBuckets``): one statement per request, so a
limit is counted once however many replicas serve. Row locks serialize takes of one
identity; the database's clock is the only clock, so replicas' clocks need not agree."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

_PRUNE_EVERY = 1024

MIGRATIONS = Migrations(
    "rate_buckets",
    (
        """CREATE TABLE rate_buckets (
            identity TEXT PRIMARY KEY,
            tokens DOUBLE PRECISION NOT NULL,
            updated TIMESTAMPTZ NOT NULL,
            allowed BOOLEAN NOT NULL
        );
        CREATE INDEX rate_buckets_updated ON rate_buckets (updated)""",
    ),
)

# ``refill``: the tokens after the time since the last take, at most ``burst`` (EXCLUDED is
# the row this take would insert: its ``updated`` is the time now). Two takes that overlap
# may see the clock step back by their start difference; GREATEST keeps that harmless.
_ELAPSED = "GREATEST(0, EXTRACT(EPOCH FROM (EXCLUDED.updated - b.updated)))"
_REFILL = f"LEAST(%(burst)s, b.tokens + {_ELAPSED} * %(rate)s)"
_TAKE = f"""INSERT INTO rate_buckets AS b (identity, tokens, updated, allowed)
    VALUES (%(identity)s, %(burst)s - 1, COALESCE(%(now)s::timestamptz, now()), true)
    ON CONFLICT (identity) DO UPDATE SET
        tokens = CASE WHEN {_REFILL} >= 1 THEN {_REFILL} - 1 ELSE {_REFILL} END,
        allowed = {_REFILL} >= 1,
        updated = GREATEST(b.updated, EXCLUDED.updated)
    RETURNING b.tokens, b.allowed"""


class PgRateBuckets:
    """``clock`` (tests only) replaces the database's clock."""

    def __init__(self, db: Database, clock: Callable[[], float] | None = None) -> None:
        self._db = db
        self._clock = clock
        self._takes = 0
        self._lock = threading.Lock()

    def take(self, identity: str, per_minute: float, burst: float) -> float:
        rate = per_minute / 60.0
        now = datetime.fromtimestamp(self._clock(), UTC) if self._clock else None
        params = {"identity": identity, "burst": float(burst), "rate": rate, "now": now}
        with self._db.connection() as conn:
            row = conn.execute(_TAKE, params).fetchone()
            with self._lock:
                self._takes += 1
                prune = self._takes % _PRUNE_EVERY == 0
            if prune:  # a bucket idle this long is full again: forgetting it changes nothing
                idle = max(3600.0, 2 * burst / rate)
                conn.execute(
                    "DELETE FROM rate_buckets WHERE updated < now() - make_interval(secs => %s)",
                    (idle,),
                )
        assert row is not None
        tokens, allowed = float(row[0]), bool(row[1])
        return 0.0 if allowed else (1.0 - tokens) / rate

    def close(self) -> None:
        """The database is shared and closed by its owner."""
