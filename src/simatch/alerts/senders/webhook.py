"""Webhooks: POST the items as JSON, signed with the subscription's secret.

Body: ``{subscription_id, need_id, delivery_id, kind, items: [{id, kind, section, title,
score, confidence, why, url, deadline?}], unsubscribe_url}``; headers ``X-Simatch-Signature:
sha256=<hex>`` and ``X-Simatch-Delivery`` (the idempotency key, the same on every retry).
A 2xx answer is delivered; 410 Gone ends the subscription; anything else is retried.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from simatch.alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER, signature
from simatch.domain.alerts import Delivery, DeliveryResult, Subscription


def webhook_body(subscription: Subscription, delivery: Delivery, unsubscribe_url: str) -> bytes:
    body: dict[str, Any] = {
        "subscription_id": subscription.id,
        "need_id": subscription.need_id,
        "delivery_id": delivery.idempotency_key,
        "kind": delivery.kind,
        "items": [item.to_json() for item in delivery.items],
        "unsubscribe_url": unsubscribe_url,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender:
    def __init__(self, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        # Redirects are not followed: the URL a subscriber gave is where items go.
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(
        self, subscription: Subscription, delivery: Delivery, unsubscribe_url: str
    ) -> DeliveryResult:
        body = webhook_body(subscription, delivery, unsubscribe_url)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "simatch-alerts/1",
            SIGNATURE_HEADER: signature(subscription.secret, body),
            DELIVERY_HEADER: delivery.idempotency_key,
        }
        try:
            response = self._client.post(
                str(subscription.target["url"]), content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= response.status_code < 300:
            return DeliveryResult(ok=True)
        if response.status_code == 410:
            return DeliveryResult(
                ok=False, error="410 Gone: the receiver ended it", retry=False, unsubscribe=True
            )
        return DeliveryResult(ok=False, error=f"HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()
