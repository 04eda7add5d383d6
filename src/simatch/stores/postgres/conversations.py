"""Chat threads' state in PostgreSQL (``ConversationStates``): a follow-up in a thread, or a
button under an answer, is understood by whichever replica receives it."""

from __future__ import annotations

import threading
from typing import Any

from psycopg.types.json import Jsonb

from simatch.stores.postgres.database import Connection, Database
from simatch.stores.postgres.migrations import Migrations

_PRUNE_EVERY = 256

MIGRATIONS = Migrations(
    "chat_threads",
    (
        """CREATE TABLE chat_threads (
            key TEXT PRIMARY KEY,
            state JSONB NOT NULL,
            touched TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX chat_threads_touched ON chat_threads (touched)""",
    ),
)


class PgConversationStates:
    """Entries expire ``ttl`` seconds after their last save; beyond ``max_threads`` the least
    recently saved go first (pruned every few hundred saves)."""

    def __init__(self, db: Database, ttl: float, max_threads: int) -> None:
        self._db = db
        self.ttl = ttl
        self.max_threads = max_threads
        self._saves = 0
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, Any] | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT state FROM chat_threads WHERE key = %s"
                " AND touched > now() - make_interval(secs => %s)",
                (key, self.ttl),
            ).fetchone()
        return dict(row[0]) if row else None

    def save(self, key: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._saves += 1
            prune = self._saves % _PRUNE_EVERY == 0
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO chat_threads (key, state, touched) VALUES (%s, %s, now())"
                " ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, touched = now()",
                (key, Jsonb(state)),
            )
            if prune:
                self._prune(conn)

    def rebind(self, old: str, new: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM chat_threads WHERE key = %s", (new,))
            conn.execute("UPDATE chat_threads SET key = %s WHERE key = %s", (new, old))

    def prune(self) -> None:
        with self._db.connection() as conn:
            self._prune(conn)

    def _prune(self, conn: Connection) -> None:
        conn.execute(
            "DELETE FROM chat_threads WHERE touched <= now() - make_interval(secs => %s)"
            " OR touched < (SELECT touched FROM chat_threads ORDER BY touched DESC"
            " OFFSET %s LIMIT 1)",
            (self.ttl, self.max_threads - 1),
        )

    def close(self) -> None:
        """The database is shared and closed by its owner."""
