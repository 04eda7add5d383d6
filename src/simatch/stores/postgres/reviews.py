"""Review decisions in PostgreSQL (``ReviewLog``): one row per queue and subject."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from psycopg.types.json import Jsonb

from simatch.domain.audit import Actor
from simatch.domain.reviews import Decision, Queue
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "review_decisions",
    (
        """CREATE TABLE review_decisions (
            queue TEXT NOT NULL,
            subject TEXT NOT NULL,
            decision TEXT NOT NULL,
            who TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL,
            detail JSONB NOT NULL,
            PRIMARY KEY (queue, subject)
        )""",
    ),
)


class PgReviewLog:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def decide(
        self,
        queue: Queue,
        subjects: Sequence[str],
        decision: str,
        actor: Actor,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if not subjects:
            return
        now = datetime.fromtimestamp(self._clock(), UTC)
        with self._db.connection() as conn:
            # One statement for all subjects: a decision lands whole or not at all.
            conn.execute(
                "INSERT INTO review_decisions (queue, subject, decision, who, at, detail)"
                " SELECT %s, s, %s, %s, %s, %s FROM unnest(%s::text[]) AS s"
                " ON CONFLICT (queue, subject) DO UPDATE SET decision = EXCLUDED.decision,"
                " who = EXCLUDED.who, at = EXCLUDED.at, detail = EXCLUDED.detail",
                (queue, decision, actor.name, now, Jsonb(detail or {}), list(subjects)),
            )

    def decided(self, queue: Queue, subjects: Sequence[str] | None = None) -> dict[str, Decision]:
        sql = "SELECT queue, subject, decision, who, at, detail FROM review_decisions"
        sql += " WHERE queue = %s"
        params: list[Any] = [queue]
        if subjects is not None:
            if not subjects:
                return {}
            sql += " AND subject = ANY(%s)"
            params.append(list(subjects))
        with self._db.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return {r[1]: Decision(cast(Queue, r[0]), r[1], r[2], r[3], r[4], dict(r[5])) for r in rows}

    def close(self) -> None:
        """The database is shared and closed by its owner."""
