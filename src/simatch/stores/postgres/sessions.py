"""Console sessions in PostgreSQL (``SessionStore``): a sign-in holds on every replica."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simatch.domain.sessions import ConsoleSession
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "console_sessions",
    (
        """CREATE TABLE console_sessions (
            id_hash TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            key_name TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created TIMESTAMPTZ NOT NULL,
            expires TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX console_sessions_key ON console_sessions (key_id)""",
    ),
)
_COLUMNS = "id_hash, key_id, key_name, csrf, created, expires"


class PgSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, session: ConsoleSession) -> None:
        with self._db.connection() as conn:
            conn.execute(
                f"INSERT INTO console_sessions ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                (session.id_hash, session.key_id, session.key_name, session.csrf,
                 session.created, session.expires),
            )  # fmt: skip

    def get(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM console_sessions WHERE id_hash = %s AND expires > %s",
                (id_hash, now),
            ).fetchone()
        return None if row is None else _session(row)

    def extend(self, id_hash: str, expires: datetime, now: datetime) -> bool:
        with self._db.connection() as conn:
            changed = conn.execute(
                "UPDATE console_sessions SET expires = %s WHERE id_hash = %s AND expires > %s",
                (expires, id_hash, now),
            ).rowcount
        return changed > 0

    def delete(self, id_hash: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM console_sessions WHERE id_hash = %s", (id_hash,))

    def delete_for_key(self, key_id: str) -> int:
        with self._db.connection() as conn:
            return conn.execute(
                "DELETE FROM console_sessions WHERE key_id = %s", (key_id,)
            ).rowcount

    def purge(self, now: datetime) -> int:
        with self._db.connection() as conn:
            return conn.execute("DELETE FROM console_sessions WHERE expires <= %s", (now,)).rowcount

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def _session(row: Any) -> ConsoleSession:
    return ConsoleSession(row[0], row[1], row[2], row[3], row[4], row[5])
