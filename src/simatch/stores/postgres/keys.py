"""API keys in PostgreSQL (``KeyStore``): only each token's hash is stored (``domain.keys``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from simatch.domain.keys import (
    SCOPES,
    ApiKey,
    clean_name,
    hash_token,
    new_key_id,
    new_token,
    parse_scopes,
    plausible_token,
)
from simatch.errors import NotFound
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

LAST_USED_EVERY = 60.0  # seconds: last_used is written at most this often per key

MIGRATIONS = Migrations(
    "api_keys",
    (
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            scopes TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            created TIMESTAMPTZ NOT NULL,
            last_used TIMESTAMPTZ,
            revoked TIMESTAMPTZ
        )""",
    ),
)
_COLUMNS = "id, name, scopes, created, last_used, revoked"


class PgKeyStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def create(self, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        """A new key and its token; the token is not stored and cannot be shown again."""
        name = clean_name(name)
        parsed = parse_scopes(scopes)
        token = new_token()
        key_id = new_key_id()
        now = self._now()
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, name, scopes, hash, created)"
                " VALUES (%s, %s, %s, %s, %s)",
                (key_id, name, ",".join(parsed), hash_token(token), now),
            )
        return ApiKey(key_id, name, parsed, now), token

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key with this token, or None; records when it was last used (one
        statement: the update happens only when the last record is older than a minute)."""
        if not plausible_token(token):
            return None
        now = self._now()
        with self._db.connection() as conn:
            row = conn.execute(
                f"""WITH found AS (
                        SELECT {_COLUMNS} FROM api_keys WHERE hash = %(hash)s
                    ), touched AS (
                        UPDATE api_keys SET last_used = %(now)s
                        WHERE hash = %(hash)s AND revoked IS NULL
                          AND (last_used IS NULL OR last_used <= %(stale)s)
                        RETURNING last_used
                    )
                    SELECT found.*, (SELECT last_used FROM touched) FROM found""",
                {
                    "hash": hash_token(token),
                    "now": now,
                    "stale": datetime.fromtimestamp(now.timestamp() - LAST_USED_EVERY, UTC),
                },
            ).fetchone()
        if row is None or row[5] is not None:
            return None
        if row[6] is not None:
            row = (*row[:4], row[6], row[5])
        return _key(row)

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        where = "" if include_revoked else "WHERE revoked IS NULL"
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created, id"
            ).fetchall()
        return [_key(r) for r in rows]

    def get(self, key_id: str) -> ApiKey:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}", {"id": key_id})
        return _key(row)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoking is immediate and final; revoking twice keeps the first time."""
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE api_keys SET revoked = %s WHERE id = %s AND revoked IS NULL",
                (self._now(), key_id),
            )
        return self.get(key_id)

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def _key(row: tuple[Any, ...]) -> ApiKey:
    scopes = tuple(s for s in SCOPES if s in str(row[2]).split(","))
    return ApiKey(str(row[0]), str(row[1]), scopes, row[3], row[4], row[5])
