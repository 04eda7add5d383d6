"""API keys: created (the token shown once), listed, revoked, and checked on every request."""

from __future__ import annotations

from collections.abc import Sequence

from simatch.domain.keys import ApiKey
from simatch.domain.stores import KeyStore


class KeyService:
    def __init__(self, store: KeyStore) -> None:
        self.store = store

    def create(self, name: str, scopes: Sequence[str]) -> tuple[ApiKey, str]:
        """The key and its token; the token is not stored and cannot be shown again."""
        return self.store.create(name, scopes)

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key with this token, or None."""
        return self.store.authenticate(token)

    def list(self) -> list[ApiKey]:
        return self.store.list()

    def revoke(self, key_id: str) -> ApiKey:
        return self.store.revoke(key_id)
