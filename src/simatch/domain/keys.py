"""API keys: ``Authorization: Bearer KEY`` with scopes ``match`` < ``curate`` < ``admin``.

A key is ``smk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored;
with that much entropy a plain hash is as good as a slow one, and lookups stay fast. These
rules are the same for every store backend.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast, get_args

from simatch.errors import InvalidInput

Scope = Literal["match", "curate", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
_RANK: dict[str, int] = {"match": 0, "curate": 1, "admin": 2}
TOKEN_PREFIX = "smk_"


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


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


KEY_ID_PATTERN = r"^[0-9a-f]{12}$"  # what new_key_id makes


def new_key_id() -> str:
    return secrets.token_hex(6)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def plausible_token(token: str) -> bool:
    """Worth a lookup: our prefix and not absurdly long."""
    return token.startswith(TOKEN_PREFIX) and len(token) <= 200


def clean_name(name: str) -> str:
    """A key's name with whitespace collapsed; InvalidInput unless 1 to 100 characters."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name must be 1 to 100 characters", {"field": "name"})
    return name


def parse_scopes(scopes: Sequence[str]) -> tuple[Scope, ...]:
    wanted = [s.strip().lower() for s in scopes if s.strip()]
    bad = [s for s in wanted if s not in SCOPES]
    if bad or not wanted:
        raise InvalidInput(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(bad) or 'none'}",
            {"field": "scopes"},
        )
    return tuple(cast(Scope, s) for s in dict.fromkeys(wanted))
