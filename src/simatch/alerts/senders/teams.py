"""Teams: a proactive message to the conversation where the need was followed (its saved
reference: service URL and conversation id), with the alert as an Adaptive Card whose
buttons (👍, 👎, stop) come back to the Teams app as actions of the conversation engine.

The Bot Framework connector takes ``POST {serviceUrl}v3/conversations/{id}/activities``
with a bearer token of the app (``token``: None for the anonymous local mode and tests).
404 or 403 (the conversation is gone or the app was removed) ends the subscription."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from simatch.alerts.render import alert_reply, render
from simatch.bots.teams_cards import CARD_CONTENT_TYPE, card
from simatch.chat.catalogue import Catalogue
from simatch.domain.alerts import Delivery, DeliveryResult, Subscription


class TeamsSender:
    def __init__(
        self,
        catalogue: Catalogue,
        token: Callable[[], str | None] = lambda: None,
        timeout: float = 10.0,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.catalogue = catalogue
        self.token = token
        self.today = today
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(
        self, subscription: Subscription, delivery: Delivery, unsubscribe_url: str
    ) -> DeliveryResult:
        message = render(subscription, delivery, unsubscribe_url, self.catalogue, self.today())
        reply = alert_reply(message, subscription, self.catalogue)
        target = subscription.target
        base = str(target["service_url"]).rstrip("/")
        url = f"{base}/v3/conversations/{quote(str(target['conversation_id']), safe='')}/activities"
        activity: dict[str, Any] = {
            "type": "message",
            "conversation": {"id": str(target["conversation_id"])},
            "summary": message.subject,
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card(reply)}],
        }
        if target.get("tenant_id"):
            activity["channelData"] = {"tenant": {"id": target["tenant_id"]}}
        headers = {"Content-Type": "application/json"}
        try:
            token = self.token()
            if token:
                headers["Authorization"] = f"Bearer {token}"
            response = self._client.post(url, json=activity, headers=headers)
        except (httpx.HTTPError, RuntimeError) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= response.status_code < 300:
            return DeliveryResult(ok=True)
        if response.status_code in (403, 404):
            return DeliveryResult(
                ok=False,
                error=f"Teams: HTTP {response.status_code}, the conversation is gone",
                retry=False,
                unsubscribe=True,
            )
        return DeliveryResult(ok=False, error=f"Teams: HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()
