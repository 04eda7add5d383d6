"""Near-duplicate flags in SQLite (``DuplicateStore``), kept for staff (``simatch duplicates``).

One row per pair of record keys (stored in sorted order), with the score and when it was
found. Re-importing a record replaces its flags. Records are never merged: staff decide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from simatch.domain.stores import DuplicateFlag, DuplicatePair
from simatch.stores.sqlite.connection import connect, to_datetime

FILE_NAME = "duplicates.sqlite"

_SCHEMA = """CREATE TABLE IF NOT EXISTS duplicates (
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    score REAL NOT NULL,
    found REAL NOT NULL,
    PRIMARY KEY (a, b)
)"""


class SqliteDuplicateStore:
    """SQLite under the data directory (``path=None``: in memory, for tests)."""

    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def replace(self, keys: Sequence[str], flags: Sequence[DuplicateFlag]) -> None:
        """Forget the flags of ``keys`` (they were re-imported) and keep ``flags``."""
        now = time.time()
        with self._lock, self._db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                self._db.execute(
                    f"DELETE FROM duplicates WHERE a IN ({marks}) OR b IN ({marks})", chunk * 2
                )
            self._db.executemany(
                "INSERT OR REPLACE INTO duplicates (a, b, score, found) VALUES (?, ?, ?, ?)",
                [(*sorted((f.key, f.other)), f.score, now) for f in flags],
            )

    def forget(self, keys: Sequence[str]) -> None:
        """Drop the flags of deleted records."""
        self.replace(keys, [])

    def list(self, min_score: float = 0.0, limit: int = 1000) -> list[DuplicatePair]:
        """Highest score first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a, b, score, found FROM duplicates WHERE score >= ?"
                " ORDER BY score DESC, a, b LIMIT ?",
                (min_score, limit),
            ).fetchall()
        return [
            DuplicatePair(a, b, float(score), to_datetime(found)) for a, b, score, found in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._db.close()
