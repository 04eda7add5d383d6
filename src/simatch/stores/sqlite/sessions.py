"""Console sessions in SQLite (``SessionStore``): only each session id's hash is stored."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simatch.domain.sessions import ConsoleSession
from simatch.stores.sqlite.connection import connect

FILE_NAME = "console-sessions.sqlite"

_SCHEMA = """CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    key_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
)"""
_COLUMNS = "id_hash, key_id, key_name, csrf, created, expires"


class SqliteSessionStore:
    """SQLite file under the data directory; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def create(self, session: ConsoleSession) -> None:
        with self._lock, self._db:
            self._db.execute(
                f"INSERT INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session.id_hash,
                    session.key_id,
                    session.key_name,
                    session.csrf,
                    session.created.timestamp(),
                    session.expires.timestamp(),
                ),
            )

    def get(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM sessions WHERE id_hash = ? AND expires > ?",
                (id_hash, now.timestamp()),
            ).fetchone()
        return None if row is None else _session(row)

    def extend(self, id_hash: str, expires: datetime, now: datetime) -> bool:
        with self._lock, self._db:
            changed = self._db.execute(
                "UPDATE sessions SET expires = ? WHERE id_hash = ? AND expires > ?",
                (expires.timestamp(), id_hash, now.timestamp()),
            ).rowcount
        return changed > 0

    def delete(self, id_hash: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def delete_for_key(self, key_id: str) -> int:
        with self._lock, self._db:
            return self._db.execute("DELETE FROM sessions WHERE key_id = ?", (key_id,)).rowcount

    def purge(self, now: datetime) -> int:
        with self._lock, self._db:
            return self._db.execute(
                "DELETE FROM sessions WHERE expires <= ?", (now.timestamp(),)
            ).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _session(row: tuple[Any, ...]) -> ConsoleSession:
    return ConsoleSession(
        id_hash=row[0],
        key_id=row[1],
        key_name=row[2],
        csrf=row[3],
        created=datetime.fromtimestamp(row[4], UTC),
        expires=datetime.fromtimestamp(row[5], UTC),
    )
