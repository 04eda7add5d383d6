"""Chat threads' state in SQLite (``ConversationStates``): one process on one machine, and
a restart no longer forgets a thread."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simatch.stores.sqlite.connection import connect

FILE_NAME = "chat-threads.sqlite"
_PRUNE_EVERY = 256

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chat_threads (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        touched REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS chat_threads_touched ON chat_threads (touched)",
)


class SqliteConversationStates:
    """Entries expire ``ttl`` seconds after their last save; beyond ``max_threads`` the least
    recently saved go first (pruned every few hundred saves)."""

    def __init__(
        self,
        path: Path | None,
        ttl: float,
        max_threads: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = connect(path)
        self.ttl = ttl
        self.max_threads = max_threads
        self._clock = clock
        self._saves = 0
        self._lock = threading.Lock()
        with self._lock, self._db:
            for statement in _SCHEMA:
                self._db.execute(statement)

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM chat_threads WHERE key = ? AND touched > ?",
                (key, self._clock() - self.ttl),
            ).fetchone()
        return dict(json.loads(row[0])) if row else None

    def save(self, key: str, state: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO chat_threads (key, state, touched) VALUES (?, ?, ?)",
                (key, json.dumps(state), self._clock()),
            )
            self._saves += 1
            if self._saves % _PRUNE_EVERY == 0:
                self._prune()

    def rebind(self, old: str, new: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM chat_threads WHERE key = ?", (new,))
            self._db.execute("UPDATE chat_threads SET key = ? WHERE key = ?", (new, old))

    def prune(self) -> None:
        with self._lock, self._db:
            self._prune()

    def _prune(self) -> None:
        self._db.execute(
            "DELETE FROM chat_threads WHERE touched <= ? OR touched < (SELECT touched FROM"
            " chat_threads ORDER BY touched DESC LIMIT 1 OFFSET ?)",
            (self._clock() - self.ttl, self.max_threads - 1),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
