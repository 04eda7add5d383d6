"""The webhook signature: ``sha256=`` and the hex HMAC-SHA256 of the exact body bytes, keyed
with the subscription's secret. Receivers compute the same and compare in constant time."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Simatch-Signature"
DELIVERY_HEADER = "X-Simatch-Delivery"  # the idempotency key: the same on every retry


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(signature(secret, body), header)
