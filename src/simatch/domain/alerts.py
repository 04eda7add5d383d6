"""Alerts: followed needs, the items found for them, and the outbox that delivers them.

A subscription follows one need record on one channel. When records arrive or change, the
reverse matching (``simatch.alerts.detector``) finds the followed needs they would answer and
writes alert items, the history of what each need was alerted about, and deliveries (the
outbox) in one transaction of the ``AlertStore``. A dispatcher sends the deliveries that are
due; a delivery keeps its idempotency key across retries and restarts, so a receiver can
drop a repeat.

Plain data and Protocols only: the SQLite store is ``simatch.stores.sqlite.alerts``.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, Protocol

Channel = Literal["webhook", "email", "slack", "teams"]
CHANNELS: tuple[Channel, ...] = ("webhook", "email", "slack", "teams")
Frequency = Literal["immediate", "daily", "weekly"]
FREQUENCIES: tuple[Frequency, ...] = ("immediate", "daily", "weekly")
# An e-mail address as subscriptions accept it: no spaces, quotes or control characters
# (nothing that could reach a mail header but the address).
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
DeliveryState = Literal["pending", "sent", "failed", "cancelled"]
# Which section of a match the record would have been in: a solution (innovation), a peer
# (a need of another organisation, or an actor) or a funder (an open call).
AlertSection = Literal["solutions", "peers", "funders"]


@dataclass(frozen=True)
class Subscription:
    id: str
    need_key: str  # "need:<id>"
    channel: Channel
    frequency: Frequency
    # Only what delivery needs: a webhook URL, an e-mail address, a chat conversation.
    target: dict[str, Any]
    secret: str  # signs webhook bodies (and nothing else)
    language: str  # of the messages: the need's language
    owner: str | None  # the API key that created it (None: chat, CLI)
    created: datetime
    last_activity: datetime | None = None

    @property
    def need_id(self) -> str:
        return self.need_key.split(":", 1)[1]


@dataclass(frozen=True)
class AlertItem:
    """One record found for a need, as it was when found (delivery needs no index)."""

    key: str  # "kind:id" of the record
    id: str
    kind: str
    section: AlertSection
    title: str
    score: float
    confidence: str
    why: dict[str, Any]
    url: str | None = None
    deadline: str | None = None  # ISO date, calls only
    funder: str | None = None  # calls only

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "section": self.section,
            "title": self.title,
            "score": self.score,
            "confidence": self.confidence,
            "why": self.why,
            "url": self.url,
        }
        if self.deadline is not None:
            body["deadline"] = self.deadline
        if self.funder is not None:
            body["funder"] = self.funder
        return body

    @classmethod
    def from_json(cls, key: str, data: dict[str, Any]) -> AlertItem:
        return cls(
            key=key,
            id=str(data["id"]),
            kind=str(data["kind"]),
            section=data["section"],
            title=str(data["title"]),
            score=float(data["score"]),
            confidence=str(data["confidence"]),
            why=dict(data.get("why") or {}),
            url=data.get("url"),
            deadline=data.get("deadline"),
            funder=data.get("funder"),
        )


@dataclass(frozen=True)
class Found:
    """What detection decided for one need: these records, new to it."""

    need_key: str
    items: tuple[AlertItem, ...]


@dataclass(frozen=True)
class Bar:
    """The dense competition a new record meets for a followed need in one pool ("call":
    open calls; "other": the other kinds): the similarities of some of the pool's records to
    the need's question, best first, with a 64-bit id of each record's key (``key_id``), as
    of ``made``. Any records of the pool will do (the more similar the better): detection
    counts how many are more similar than a new record, a lower bound on its dense rank."""

    need_key: str
    pool: str
    made: datetime
    keys: tuple[int, ...]
    similarities: tuple[float, ...]

    def blob(self) -> bytes:
        return array("q", self.keys).tobytes() + array("f", self.similarities).tobytes()

    @classmethod
    def from_blob(cls, need_key: str, pool: str, made: datetime, blob: bytes) -> Bar:
        n = len(blob) // 12
        keys, sims = array("q"), array("f")
        keys.frombytes(blob[: 8 * n])
        sims.frombytes(blob[8 * n : 12 * n])
        return cls(need_key, pool, made, tuple(keys), tuple(sims))


@lru_cache(maxsize=1 << 16)
def key_id(key: str) -> int:
    """A record key as a signed 64-bit id (``Bar.keys``); detection asks for the same keys
    once per followed need, hence the cache."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


@dataclass(frozen=True)
class JournalEntry:
    """A record about to be indexed; checked against the followed needs once it is."""

    id: int
    key: str
    content_hash: str


@dataclass(frozen=True)
class Delivery:
    id: int
    idempotency_key: str
    subscription_id: str
    channel: Channel
    items: tuple[AlertItem, ...]
    kind: str  # "alert", "digest" or "reminder"
    state: DeliveryState
    attempts: int
    due: datetime
    created: datetime
    sent: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    error: str | None = None
    retry: bool = True  # False: retrying cannot help (the subscription is gone, a 4xx)
    # The receiver asked the subscription to stop (Slack "channel_not_found", a 410 Gone).
    unsubscribe: bool = False


@dataclass(frozen=True)
class OutboxCounts:
    pending: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    subscriptions: int = 0
    journal_pending: int = 0
    failures: list[Delivery] = field(default_factory=list)


class AlertStore(Protocol):
    """Subscriptions, the detection journal, alert history and the outbox, in one store so
    that detection writes all it decided in one transaction."""

    # -- subscriptions ----------------------------------------------------------------------

    def add_subscription(self, subscription: Subscription, next_digest: datetime | None) -> None:
        """``next_digest``: when a daily or weekly subscription's first digest is formed."""
        ...

    def list_subscriptions(self, limit: int = 1000) -> list[Subscription]: ...

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def subscriptions_of(self, need_keys: Sequence[str]) -> list[Subscription]: ...

    def followed_needs(self) -> list[str]:
        """Need keys with at least one subscription."""
        ...

    def version(self) -> int:
        """Changes whenever the set of followed needs may have changed (caches compare it)."""
        ...

    def remove_subscription(self, subscription_id: str) -> bool:
        """Forget the subscription, what it was about to be sent and where to; the need's
        history goes too when nobody follows it any more. False if it did not exist."""
        ...

    def expire(self, before: datetime) -> int:
        """Privacy: end subscriptions inactive since ``before`` (nothing delivered, or made,
        after it) as ``remove_subscription`` does, and forget deliveries finished before it.
        Returns the subscriptions ended."""
        ...

    # -- detection --------------------------------------------------------------------------

    def journal_add(self, keys_and_hashes: Sequence[tuple[str, str]]) -> list[int]: ...

    def journal_pending(self, limit: int) -> list[JournalEntry]: ...

    def journal_done(self, ids: Sequence[int]) -> None:
        """Entries that need no detection (the record was not indexed as journalled)."""
        ...

    def unseen(self, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of these (need key, record key) pairs, those never alerted nor marked seen."""
        ...

    def mark_seen(self, need_key: str, record_keys: Sequence[str], how: str = "known") -> None:
        """What the need already knows (its match when it was followed, a record rejected
        with 👎): never alerted."""
        ...

    def bars(self, need_keys: Sequence[str]) -> tuple[list[Bar], int]:
        """The bars kept for these needs, and the bars' epoch (for ``save_bars``)."""
        ...

    def save_bars(self, bars: Sequence[Bar], epoch: int) -> bool:
        """Keep these bars (replacing each need's bar of the pool), unless the bars were
        cleared since ``epoch`` was read; False then."""
        ...

    def clear_bars(self) -> int:
        """Forget every bar (a record left the index: bars may count it) and move the epoch;
        returns the new epoch."""
        ...

    def record_detection(
        self, found: Sequence[Found], journal_ids: Sequence[int], now: datetime
    ) -> int:
        """In one transaction: history, a delivery per immediate subscription, pending items
        for digests, and the journal entries done. Items already in the history are dropped
        (another process found them first). Returns the items written."""
        ...

    def form_digests(self, now: datetime, next_digest: dict[str, datetime]) -> int:
        """Waiting items of each digest subscription whose time has come become one
        delivery; its next time is ``next_digest[frequency]``. Returns deliveries made."""
        ...

    def add_reminders(
        self, subscription_id: str, item: AlertItem, times: Sequence[datetime]
    ) -> None:
        """Remind the subscriber of this item (a call marked interesting) at these times."""
        ...

    def form_reminders(self, now: datetime) -> int:
        """Reminders due by ``now`` become deliveries (kind "reminder"); returns how many."""
        ...

    def delivered_item(self, subscription_id: str, record_key: str) -> AlertItem | None:
        """The item as it was sent to this subscription, if it was."""
        ...

    def meta(self, name: str, default: str) -> str:
        """A named value, stored with ``default`` on first use (a generated secret)."""
        ...

    # -- outbox -----------------------------------------------------------------------------

    def claim_due(
        self, worker: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[Delivery]:
        """Pending deliveries due by ``now`` that nobody holds (or whose holder's lease ran
        out), leased to ``worker``; two dispatchers (a server and a cron run, two replicas)
        get disjoint ones. A claim counts as an attempt (``Delivery.attempts`` includes it).
        A dispatcher killed mid-send leaves its lease to run out: then they are due again."""
        ...

    def mark_sent(self, delivery_id: int, worker: str, now: datetime) -> bool:
        """False when ``worker`` no longer holds it (its lease ran out and another took it)."""
        ...

    def mark_retry(self, delivery_id: int, worker: str, error: str, due: datetime) -> bool: ...

    def mark_failed(self, delivery_id: int, worker: str, error: str, now: datetime) -> bool: ...

    def deliveries(self, state: str | None = None, limit: int = 100) -> list[Delivery]:
        """Newest first."""
        ...

    def counts(self, failures: int = 20) -> OutboxCounts: ...

    def close(self) -> None: ...


class Sender(Protocol):
    """Delivers one delivery on one channel (``simatch.alerts.senders``)."""

    def send(
        self, subscription: Subscription, delivery: Delivery, unsubscribe_url: str
    ) -> DeliveryResult:
        """Never raises for a failed delivery: the result says whether to retry."""
        ...
