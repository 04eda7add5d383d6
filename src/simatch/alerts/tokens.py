"""Signed one-click unsubscribe tokens: the subscription id and an HMAC of it.

Anyone holding an alert may stop it (that is the point of one click), nobody can stop a
subscription whose id they guessed."""

from __future__ import annotations

import hashlib
import hmac
import re

_TOKEN = re.compile(r"^([A-Za-z0-9_-]{1,64})\.([0-9a-f]{32})$")


class UnsubscribeTokens:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, subscription_id: str) -> str:
        message = f"unsubscribe:{subscription_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def sign(self, subscription_id: str) -> str:
        return f"{subscription_id}.{self._mac(subscription_id)}"

    def verify(self, token: str) -> str | None:
        """The subscription id, or None when the token was not signed here."""
        found = _TOKEN.match(token)
        if not found or not hmac.compare_digest(found.group(2), self._mac(found.group(1))):
            return None
        return found.group(1)
