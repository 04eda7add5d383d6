"""Review decisions in SQLite (``ReviewLog``): one row per queue and subject."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from simatch.domain.audit import Actor
from simatch.domain.reviews import Decision, Queue
from simatch.stores.sqlite.connection import connect, to_datetime

FILE_NAME = "reviews.sqlite"

_SCHEMA = """CREATE TABLE IF NOT EXISTS decisions (
    queue TEXT NOT NULL,
    subject TEXT NOT NULL,
    decision TEXT NOT NULL,
    who TEXT NOT NULL,
    at REAL NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (queue, subject)
)"""


class SqliteReviewLog:
    """SQLite file under the data directory; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._db = connect(path)
        self._clock = clock
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def decide(
        self,
        queue: Queue,
        subjects: Sequence[str],
        decision: str,
        actor: Actor,
        detail: dict[str, Any] | None = None,
    ) -> None:
        now, blob = self._clock(), json.dumps(detail or {}, ensure_ascii=False)
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO decisions (queue, subject, decision, who, at, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(queue, s, decision, actor.name, now, blob) for s in subjects],
            )

    def decided(self, queue: Queue, subjects: Sequence[str] | None = None) -> dict[str, Decision]:
        sql = "SELECT queue, subject, decision, who, at, detail FROM decisions WHERE queue = ?"
        params: list[Any] = [queue]
        if subjects is not None:
            if not subjects:
                return {}
            sql += f" AND subject IN ({', '.join('?' * len(subjects))})"
            params.extend(subjects)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        found: dict[str, Decision] = {}
        for row in rows:
            at = to_datetime(row[4])
            assert at is not None
            found[row[1]] = Decision(
                cast(Queue, row[0]), row[1], row[2], row[3], at, json.loads(row[5])
            )
        return found

    def close(self) -> None:
        with self._lock:
            self._db.close()
