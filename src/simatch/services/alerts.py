"""Following needs: create a need, subscribe to it on a channel, stop, and deliver what is due.

Only what delivery needs is stored with a subscription (a webhook URL, an e-mail address,
a chat conversation) and it is deleted when the subscription ends. Every subscription can
be ended by whoever created it (the same API key), by staff, or with the signed link in
each alert.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from simatch.alerts.detector import Detector
from simatch.alerts.dispatcher import Dispatcher, DispatchReport
from simatch.alerts.schedule import next_digest
from simatch.alerts.tokens import UnsubscribeTokens
from simatch.domain.alerts import (
    CHANNELS,
    EMAIL_PATTERN,
    FREQUENCIES,
    AlertStore,
    Channel,
    Delivery,
    OutboxCounts,
    Subscription,
)
from simatch.errors import InvalidInput, NotFound
from simatch.services.feedback import FeedbackService
from simatch.services.records import RecordService


@dataclass(frozen=True)
class AlertPolicy:
    allow_http: bool = False  # http:// webhooks (development)
    digest_hour: int = 7
    public_url: str = "http://127.0.0.1:8000"
    channels: tuple[Channel, ...] = ("webhook",)  # those with a sender set up
    reminder_days: tuple[int, ...] = (14, 2)  # before an interesting call's deadline


@dataclass(frozen=True)
class ChatOutcome:
    """What the chat says after a button under an alert: a catalogue key, in a language."""

    key: str
    language: str
    params: dict[str, str]


@dataclass
class RunReport:
    caught_up: int = 0
    dispatch: DispatchReport | None = None


class AlertService:
    def __init__(
        self,
        store: AlertStore,
        records: Callable[[], RecordService],
        detector: Callable[[], Detector],
        dispatcher: Dispatcher,
        tokens: UnsubscribeTokens,
        policy: AlertPolicy,
        catch_up: Callable[[], int],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        feedback: Callable[[], FeedbackService] | None = None,
    ) -> None:
        self.store = store
        self._records = records  # opens the index: only what needs it asks (not delivery)
        self._detector = detector
        self.dispatcher = dispatcher
        self.tokens = tokens
        self.policy = policy
        self._catch_up = catch_up
        self.now = now
        self._feedback = feedback

    # -- needs and subscriptions ------------------------------------------------------------

    def create_need(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new need record (its id is made here); returns it as stored."""
        need_id = f"api-{uuid.uuid4().hex[:16]}"
        return self._records().put("need", need_id, {**data, "kind": "need", "id": need_id}).record

    def subscribe(
        self,
        need_id: str,
        channel: str,
        frequency: str = "immediate",
        *,
        url: str | None = None,
        address: str | None = None,
        conversation: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> Subscription:
        if channel not in CHANNELS:
            raise InvalidInput(
                f"channel must be one of {', '.join(CHANNELS)}", {"field": "channel"}
            )
        if channel not in self.policy.channels:
            raise InvalidInput(
                f"the {channel} channel is not set up on this service",
                {"field": "channel", "available": list(self.policy.channels)},
            )
        if frequency not in FREQUENCIES:
            raise InvalidInput(
                f"frequency must be one of {', '.join(FREQUENCIES)}", {"field": "frequency"}
            )
        need = self._records().get("need", need_id)  # NotFound if there is no such need
        target = self._target(channel, url, address, conversation)
        target["need_title"] = str(need.get("title") or need_id)  # what the message names
        now = self.now()
        subscription = Subscription(
            id=uuid.uuid4().hex[:20],
            need_key=f"need:{need_id}",
            channel=channel,  # type: ignore[arg-type]  # checked above
            frequency=frequency,  # type: ignore[arg-type]
            target=target,
            secret=secrets.token_hex(32),
            language=str(need.get("language") or "fi"),
            owner=owner,
            created=now,
        )
        digest = (
            None
            if frequency == "immediate"
            else next_digest(frequency, now, self.policy.digest_hour)
        )
        # What the need's match shows today is known: the first alert is about something new.
        self._detector().baseline(subscription.need_key)
        self.store.add_subscription(subscription, digest)
        return subscription

    def _target(
        self,
        channel: str,
        url: str | None,
        address: str | None,
        conversation: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if channel == "webhook":
            if not url:
                raise InvalidInput("a webhook subscription needs url", {"field": "url"})
            parts = urlsplit(url)
            schemes = ("https", "http") if self.policy.allow_http else ("https",)
            if parts.scheme not in schemes or not parts.hostname:
                raise InvalidInput(
                    f"url must be an absolute {' or '.join(schemes)} URL", {"field": "url"}
                )
            return {"url": url}
        if channel == "email":
            if not address or len(address) > 254 or not re.match(EMAIL_PATTERN, address):
                raise InvalidInput("an e-mail subscription needs address", {"field": "address"})
            return {"address": address}
        if not conversation:
            raise InvalidInput(
                f"a {channel} subscription is made in the chat", {"field": "channel"}
            )
        return dict(conversation)

    def get(self, subscription_id: str, caller: str | None, staff: bool) -> Subscription:
        """NotFound also when the caller may not see it (its existence is not revealed).
        One made with a key is the key's (and staff's); one made without a key belongs to
        whoever holds its id (80 random bits, like a secret link)."""
        found = self.store.get_subscription(subscription_id)
        if found is None or not (staff or found.owner is None or found.owner == caller):
            raise NotFound(f"no subscription with id {subscription_id!r}", {"id": subscription_id})
        return found

    def unsubscribe(self, subscription_id: str, caller: str | None, staff: bool) -> None:
        self.get(subscription_id, caller, staff)
        self.store.remove_subscription(subscription_id)

    def tokens_valid(self, token: str) -> str:
        """The subscription id of an unsubscribe link; NotFound if it was not signed here."""
        subscription_id = self.tokens.verify(token)
        if subscription_id is None:
            raise NotFound("this unsubscribe link is not valid", {"field": "token"})
        return subscription_id

    def unsubscribe_with_token(self, token: str) -> bool:
        """The one-click link. True if a subscription ended now, False if it had already."""
        return self.store.remove_subscription(self.tokens_valid(token))

    def unsubscribe_url(self, subscription: Subscription) -> str:
        base = self.policy.public_url.rstrip("/")
        return f"{base}/alerts/unsubscribe/{self.tokens.sign(subscription.id)}"

    # -- in the chat ------------------------------------------------------------------------

    def follow_conversation(
        self, need_id: str, platform: str, reference: dict[str, str]
    ) -> Subscription:
        """The person pressed "tell me here": alerts go to this DM, thread or Teams chat."""
        conversation = {k: v for k, v in reference.items() if v}
        return self.subscribe(need_id, platform, "immediate", conversation=conversation)

    def react(
        self, subscription_id: str, record_key: str, interested: bool, where: dict[str, str]
    ) -> ChatOutcome:
        """👍 or 👎 under an alert: feedback through the feedback service (as on a match), a
        👎'd record is never sent for this need again, a 👍'd call gets its reminders."""
        sub = self._in_conversation(subscription_id, where)
        if sub is None:
            return ChatOutcome("alert_not_found", "en", {})
        kind, _, item_id = record_key.partition(":")
        self._record_feedback(sub, kind, item_id, "useful" if interested else "not_useful")
        if not interested:
            self.store.mark_seen(sub.need_key, [record_key], how="rejected")
            return ChatOutcome("alert_marked_not_relevant", sub.language, {})
        item = self.store.delivered_item(sub.id, record_key)
        if item is not None and item.deadline:
            self.store.add_reminders(sub.id, item, self._reminder_times(item.deadline))
        return ChatOutcome("alert_marked_interested", sub.language, {})

    def stop_in_conversation(self, subscription_id: str, where: dict[str, str]) -> ChatOutcome:
        sub = self._in_conversation(subscription_id, where)
        if sub is None or not self.store.remove_subscription(sub.id):
            return ChatOutcome("alert_not_found", "en", {})
        return ChatOutcome("alert_stopped", sub.language, {})

    def _in_conversation(self, subscription_id: str, where: dict[str, str]) -> Subscription | None:
        """The subscription, if it posts to the conversation the button was pressed in."""
        sub = self.store.get_subscription(subscription_id)
        if sub is None:
            return None
        target = sub.target
        field = "channel" if sub.channel == "slack" else "conversation_id"
        if sub.channel not in ("slack", "teams") or target.get(field) != where.get(field):
            return None
        return sub

    def _reminder_times(self, deadline: str) -> list[datetime]:
        day = date.fromisoformat(deadline)
        now = self.now()
        hour = time(self.policy.digest_hour, tzinfo=UTC)
        times = [datetime.combine(day - timedelta(days=d), hour) for d in self.policy.reminder_days]
        return [t for t in times if t > now]

    def _record_feedback(self, sub: Subscription, kind: str, item_id: str, verdict: str) -> None:
        """An alert is a match the other way round: logged like one (the need's question
        vector and the item), then the verdict recorded on it, so that it moves rankings for
        similar questions exactly as a 👍 / 👎 on a match does."""
        if self._feedback is None:
            return
        found = self._detector().needs.find(sub.need_key)
        if found is None:
            return
        service = self._feedback()
        match_id = uuid.uuid4().hex
        prepared = found.prepared
        service.log.log_match(match_id, prepared.vector, prepared.detected, [(kind, item_id)])
        service.record(match_id, item_id, verdict, source=f"alert-{sub.channel}", kind=kind)

    # -- delivery ---------------------------------------------------------------------------

    def run(self, catch_up: bool = True) -> RunReport:
        """Check journalled records detection has not done yet (needs the index), then
        deliver what is due."""
        report = RunReport()
        if catch_up:
            report.caught_up = self._catch_up()
        report.dispatch = self.dispatcher.run()
        return report

    def status(self) -> OutboxCounts:
        return self.store.counts()

    def deliveries(self, state: str | None, limit: int = 100) -> list[Delivery]:
        return self.store.deliveries(state, limit)
