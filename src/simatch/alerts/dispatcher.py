"""The dispatcher: turns due digests into deliveries, then sends what is due, with retries.

Each delivery is leased while it is sent, so two dispatchers (the server and a cron run, or
two replicas) never send it both; a dispatcher killed mid-send leaves a lease that runs out,
and the delivery is sent again with the same idempotency key. A failed attempt is retried
after a backoff that doubles each time; after ``max_attempts`` the delivery is given up and
shown to staff (`simatch alerts status`, ``GET /v1/alerts/deliveries?state=failed``).
Webhook deliveries of a claimed batch go out from ``threads`` threads at once (each one
waits on a receiver); the outbox is written from the dispatcher's own thread.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from simatch.alerts.schedule import next_digests
from simatch.domain.alerts import (
    AlertItem,
    AlertStore,
    Delivery,
    DeliveryResult,
    Sender,
    Subscription,
)

log = logging.getLogger(__name__)

Explain = Callable[[str, Sequence[AlertItem]], tuple[AlertItem, ...]]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff: float = 30.0  # seconds before the first retry
    max_backoff: float = 21_600.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        return float(min(self.max_backoff, self.backoff * 2 ** max(0, attempts - 1)))


@dataclass
class DispatchReport:
    digests: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0  # subscriptions ended for inactivity (retention)
    reminders: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.retried} to retry, {self.failed} given up, "
            f"{self.digests} digest(s) formed, {self.expired} inactive subscription(s) ended"
        )


class Dispatcher:
    def __init__(
        self,
        store: AlertStore,
        senders: Mapping[str, Sender],
        unsubscribe_url: Callable[[Subscription], str],
        policy: RetryPolicy | None = None,
        lease_seconds: float = 120.0,
        digest_hour: int = 7,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        retention_days: int = 0,
        concurrent: frozenset[str] = frozenset({"webhook"}),
        threads: int = 8,
        explain: Explain | None = None,
    ) -> None:
        self.store = store
        self.senders = senders
        self.unsubscribe_url = unsubscribe_url
        self.policy = policy or RetryPolicy()
        self.lease_seconds = lease_seconds
        self.digest_hour = digest_hour
        self.now = now
        self.retention_days = retention_days  # 0 = keep subscriptions however quiet
        # Channels whose sender may send from several threads at once, and how many.
        self.concurrent = concurrent
        self.threads = threads
        # Adds the reasons why to items detection left without them (``Detector.explain``).
        self.explain = explain
        # Who holds a claimed delivery: one name per dispatcher (process, host).
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def run(self, batch: int = 50) -> DispatchReport:
        """Deliver everything due now; returns what happened."""
        report = DispatchReport()
        if self.retention_days:
            report.expired = self.store.expire(self.now() - timedelta(days=self.retention_days))
        report.reminders = self.store.form_reminders(self.now())
        report.digests = self.store.form_digests(
            self.now(), next_digests(self.now(), self.digest_hour)
        )
        while True:
            claimed = self.store.claim_due(self.worker, self.now(), self.lease_seconds, batch)
            if not claimed:
                return report
            jobs = [
                self._explained(d, self.store.get_subscription(d.subscription_id)) for d in claimed
            ]
            split = [j[1] is not None and j[0].channel in self.concurrent for j in jobs]
            together = [j for j, many in zip(jobs, split, strict=True) if many]
            alone = [j for j, many in zip(jobs, split, strict=True) if not many]
            for delivery, subscription in alone:
                self._settle(delivery, subscription, self._send(delivery, subscription), report)
            if together:
                # Receivers answer in parallel; the outbox is written here, one at a time.
                with ThreadPoolExecutor(min(self.threads, len(together))) as pool:
                    sent = {pool.submit(self._send, d, s): (d, s) for d, s in together}
                    for done in as_completed(sent):
                        delivery, subscription = sent[done]
                        self._settle(delivery, subscription, done.result(), report)

    def _explained(
        self, delivery: Delivery, subscription: Subscription | None
    ) -> tuple[Delivery, Subscription | None]:
        if self.explain is None or subscription is None or all(i.why for i in delivery.items):
            return delivery, subscription
        try:
            items = self.explain(subscription.need_key, delivery.items)
        except Exception:  # sent without the reasons rather than not at all
            log.exception("explaining alert delivery %s failed", delivery.id)
            return delivery, subscription
        return replace(delivery, items=items), subscription

    def _send(self, delivery: Delivery, subscription: Subscription | None) -> DeliveryResult:
        sender = self.senders.get(delivery.channel)
        if subscription is None:
            return DeliveryResult(ok=False, error="the subscription has ended", retry=False)
        if sender is None:
            return DeliveryResult(ok=False, error=f"channel {delivery.channel} is not set up")
        try:
            return sender.send(subscription, delivery, self.unsubscribe_url(subscription))
        except Exception as exc:  # a sender's bug must not stop the other deliveries
            log.exception("alert sender %s failed", delivery.channel)
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])

    def _settle(
        self,
        delivery: Delivery,
        subscription: Subscription | None,
        result: DeliveryResult,
        report: DispatchReport,
    ) -> None:
        now = self.now()
        if result.ok:
            if not self.store.mark_sent(delivery.id, self.worker, now):
                log.warning("alert delivery %s was sent after its lease ran out", delivery.id)
            report.sent += 1
            return
        error = result.error or "failed"
        attempts = delivery.attempts  # this one included
        if result.retry and attempts < self.policy.max_attempts:
            due = now + timedelta(seconds=self.policy.delay(attempts))
            self.store.mark_retry(delivery.id, self.worker, error, due)
            report.retried += 1
            log.info("alert delivery %s: %s; retry at %s", delivery.id, error, due.isoformat())
        else:
            self.store.mark_failed(delivery.id, self.worker, error, now)
            report.failed += 1
            log.warning(
                "alert delivery %s given up after %d attempt(s): %s", delivery.id, attempts, error
            )
        if result.unsubscribe and subscription is not None:
            self.store.remove_subscription(subscription.id)
