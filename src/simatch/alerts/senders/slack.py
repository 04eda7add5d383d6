"""Slack: the alert as a Block Kit message in the DM or thread where the need was followed,
with 👍 / 👎 under each item and a button that stops the alerts (they come back to the
Slack app, ``simatch.bots.slack``, as actions of the conversation engine). A channel that
is gone, archived or left ends the subscription; anything else is retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from simatch.alerts.render import alert_reply, render
from simatch.bots.slack_blocks import blocks, fallback_text
from simatch.chat.catalogue import Catalogue
from simatch.domain.alerts import Delivery, DeliveryResult, Subscription

# Errors after which the conversation cannot get alerts any more.
GONE = {
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "account_inactive",
    "invalid_auth",
    "token_revoked",
    "user_not_found",
}


class SlackSender:
    def __init__(
        self,
        token: str,
        catalogue: Catalogue,
        base_url: str | None = None,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
        timeout: int = 10,
    ) -> None:
        args: dict[str, Any] = {"token": token, "timeout": timeout}
        if base_url:
            args["base_url"] = base_url
        self.client = WebClient(**args)
        self.catalogue = catalogue
        self.today = today

    def send(
        self, subscription: Subscription, delivery: Delivery, unsubscribe_url: str
    ) -> DeliveryResult:
        message = render(subscription, delivery, unsubscribe_url, self.catalogue, self.today())
        reply = alert_reply(message, subscription, self.catalogue)
        target = subscription.target
        args: dict[str, Any] = {
            "channel": str(target["channel"]),
            "text": fallback_text(reply),
            "blocks": blocks(reply),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if target.get("thread_ts"):
            args["thread_ts"] = str(target["thread_ts"])
        try:
            self.client.chat_postMessage(**args)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            gone = error in GONE
            return DeliveryResult(
                ok=False, error=f"Slack: {error}", retry=not gone, unsubscribe=gone
            )
        except (SlackClientError, OSError) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return DeliveryResult(ok=True)
