"""API keys: created (the token shown once), listed, revoked, and checked on every request."""

from __future__ import annotations

from collections.abc import Sequence

from simatch.domain.keys import ApiKey
from simatch.domain.stores import KeyStore
from simatch.errors import Conflict


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

    def revoke(self, key_id: str, by: str | None = None) -> ApiKey:
        """Revoke a key; ``by`` is the id of the key asking (over the API), which may not
        revoke itself, so that no request can lock its admins out by mistake (the CLI, run
        on the server, can)."""
        if by == key_id:
            raise Conflict(
                "A key cannot revoke itself; use another admin key or `simatch keys revoke`.",
                {"key_id": key_id},
            )
        return self.store.revoke(key_id)
