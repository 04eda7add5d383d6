"""API keys: stored hashed in SQLite under the data directory, shown once when created.

A key is ``smk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored;
with that much entropy a plain hash is as good as a slow one, and lookups stay fast.

Scopes are ranked: ``admin`` includes ``curate``, which includes ``match``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, cast, get_args

from simatch.errors import InvalidInput, NotFound
from simatch.stores.sqlite import connect, to_datetime

Scope = Literal["match", "curate", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
_RANK: dict[str, int] = {"match": 0, "curate": 1, "admin": 2}
TOKEN_PREFIX = "smk_"
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


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[Scope, ...]
    created: datetime
    last_used: datetime | None = None
    revoked: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def allows(self, scope: Scope) -> bool:
        return any(_RANK[s] >= _RANK[scope] for s in self.scopes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scopes(scopes: Sequence[str]) -> tuple[Scope, ...]:
    wanted = [s.strip().lower() for s in scopes if s.strip()]
    bad = [s for s in wanted if s not in SCOPES]
    if bad or not wanted:
        raise InvalidInput(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(bad) or 'none'}",
            {"field": "scopes"},
        )
    return tuple(cast(Scope, s) for s in dict.fromkeys(wanted))


class KeyStore:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._db = connect(path)
        self._clock = clock
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def create(self, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        """A new key and its token; the token is not stored and cannot be shown again."""
        name = " ".join(name.split())
        if not 1 <= len(name) <= 100:
            raise InvalidInput("name must be 1 to 100 characters", {"field": "name"})
        parsed = parse_scopes(scopes)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        key_id = secrets.token_hex(6)
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
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
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
