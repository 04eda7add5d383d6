"""API keys in SQLite (``KeyStore``): only each token's hash is stored (``domain.keys``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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
from simatch.stores.sqlite.connection import connect, to_datetime

FILE_NAME = "keys.sqlite"
LAST_USED_EVERY = 60.0  # seconds: last_used is written at most this often per key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    last_used REAL,
    revoked REAL
)
"""
_COLUMNS = "id, name, scopes, created, last_used, revoked"


class SqliteKeyStore:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._db = connect(path)
        self._clock = clock
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def create(self, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        """A new key and its token; the token is not stored and cannot be shown again."""
        name = clean_name(name)
        parsed = parse_scopes(scopes)
        token = new_token()
        key_id = new_key_id()
        now = self._clock()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO api_keys (id, name, scopes, hash, created) VALUES (?, ?, ?, ?, ?)",
                (key_id, name, ",".join(parsed), hash_token(token), now),
            )
        created = to_datetime(now)
        assert created is not None
        return ApiKey(key_id, name, parsed, created), token

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key with this token, or None; records when it was last used."""
        if not plausible_token(token):
            return None
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE hash = ?", (hash_token(token),)
            ).fetchone()
            if row is None or row[5] is not None:
                return None
            now = self._clock()
            if row[4] is None or now - row[4] >= LAST_USED_EVERY:
                with self._db:
                    self._db.execute(
                        "UPDATE api_keys SET last_used = ? WHERE id = ?", (now, row[0])
                    )
                row = (*row[:4], now, row[5])
        return _key(row)

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        where = "" if include_revoked else "WHERE revoked IS NULL"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created, id"
            ).fetchall()
        return [_key(r) for r in rows]

    def get(self, key_id: str) -> ApiKey:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}", {"id": key_id})
        return _key(row)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoking is immediate and final; revoking twice keeps the first time."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (self._clock(), key_id),
            )
        return self.get(key_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _key(row: tuple[str, str, str, float, float | None, float | None]) -> ApiKey:
    created = to_datetime(row[3])
    assert created is not None
    scopes = tuple(s for s in SCOPES if s in row[2].split(","))
    return ApiKey(row[0], row[1], scopes, created, to_datetime(row[4]), to_datetime(row[5]))
