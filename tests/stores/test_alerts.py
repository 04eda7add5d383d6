"""The alert store's contract, on SQLite and PostgreSQL: subscriptions and what ending one
deletes, the journal, history that alerts each (need, record) once, the outbox written with
detection in one step, digests, and claims that give each delivery to one dispatcher."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from simatch.domain.alerts import AlertItem, Bar, Found, Subscription, key_id
from simatch.stores.factory import StateBackend, open_alert_store

NOW = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def sub(sub_id: str, need: str = "need:n1", frequency: str = "immediate") -> Subscription:
    return Subscription(
        id=sub_id, need_key=need, channel="webhook", frequency=frequency,  # type: ignore[arg-type]
        target={"url": "https://example.org/h"}, secret="s" * 64, language="fi", owner=None,
        created=NOW,
    )  # fmt: skip


def item(record_id: str) -> AlertItem:
    return AlertItem(
        key=f"call:{record_id}", id=record_id, kind="call", section="funders",
        title=f"Call {record_id}", score=0.9, confidence="possible",
        why={"passage": "p", "terms": ["nuori"]}, deadline="2027-01-31",
    )  # fmt: skip


def test_subscriptions_and_what_ending_one_deletes(backend: StateBackend) -> None:
    store = open_alert_store(backend)
    other = open_alert_store(backend)  # another process or replica on the same backend
    version = store.version()
    store.add_subscription(sub("a" * 20), None)
    store.add_subscription(sub("b" * 20, frequency="daily"), NOW + timedelta(hours=1))
    assert other.version() > version
    assert other.followed_needs() == ["need:n1"]
    got = other.get_subscription("a" * 20)
    assert got is not None and got.target == {"url": "https://example.org/h"}
    assert got.created == NOW and got.need_id == "n1"
    assert [s.id for s in other.subscriptions_of(["need:n1", "need:x"])] == ["a" * 20, "b" * 20]

    store.record_detection([Found("need:n1", (item("c1"),))], [], NOW)
    assert store.counts().pending == 1
    assert store.remove_subscription("a" * 20) and not store.remove_subscription("a" * 20)
    assert store.counts().pending == 0  # its pending delivery went with it
    assert store.unseen([("need:n1", "call:c1")]) == set()  # another still follows the need
    assert store.remove_subscription("b" * 20)
    assert store.followed_needs() == []
    assert store.unseen([("need:n1", "call:c1")]) == {("need:n1", "call:c1")}
    assert store.form_digests(NOW + timedelta(days=2), {"daily": NOW, "weekly": NOW}) == 0
    store.close()
    other.close()


def test_detection_alerts_each_pair_once_and_finishes_the_journal(backend: StateBackend) -> None:
    store = open_alert_store(backend)
    store.add_subscription(sub("a" * 20), None)
    store.add_subscription(sub("b" * 20, frequency="daily"), NOW + timedelta(hours=1))
    ids = store.journal_add([("call:c1", "h1"), ("call:c2", "h2")])
    assert [e.key for e in store.journal_pending(10)] == ["call:c1", "call:c2"]
    store.mark_seen("need:n1", ["call:c2"])
    found = Found("need:n1", (item("c1"), item("c2")))
    assert store.record_detection([found], ids, NOW) == 1  # c2 was known already
    assert store.journal_pending(10) == []
    assert store.record_detection([found], [], NOW) == 0  # again: nothing new
    (delivery,) = store.deliveries()
    assert delivery.kind == "alert" and [i.id for i in delivery.items] == ["c1"]
    assert delivery.items[0] == item("c1")

    # The daily subscription's item waits for its digest, then goes out as one delivery.
    later = NOW + timedelta(hours=2)
    assert store.form_digests(NOW, {"daily": later, "weekly": later}) == 0
    assert store.form_digests(later, {"daily": later + timedelta(days=1), "weekly": later}) == 1
    assert store.form_digests(later, {"daily": later, "weekly": later}) == 0
    digest = next(d for d in store.deliveries() if d.kind == "digest")
    assert digest.subscription_id == "b" * 20 and [i.id for i in digest.items] == ["c1"]
    store.journal_done([e.id for e in store.journal_pending(10)])
    store.close()


def test_each_delivery_goes_to_one_dispatcher_and_comes_back_after_a_lost_lease(
    backend: StateBackend,
) -> None:
    store = open_alert_store(backend)
    store.add_subscription(sub("a" * 20), None)
    store.record_detection([Found("need:n1", (item("c1"),))], [], NOW)
    store.add_subscription(sub("b" * 20, need="need:n2"), None)
    store.record_detection([Found("need:n2", (item("c2"),))], [], NOW)
    now = datetime.now(UTC)
    first = store.claim_due("w1", now, 0.5, 1)
    second = store.claim_due("w2", now, 0.5, 10)
    assert len(first) == 1 and len(second) == 1 and first[0].id != second[0].id
    assert store.claim_due("w3", now, 0.5, 10) == []
    assert first[0].attempts == 1

    assert not store.mark_sent(first[0].id, "w2", now)  # not its delivery
    assert store.mark_sent(first[0].id, "w1", now)
    assert store.mark_retry(second[0].id, "w2", "HTTP 500", now - timedelta(seconds=1))
    again = store.claim_due("w1", datetime.now(UTC), 0.5, 10)
    assert [d.id for d in again] == [second[0].id] and again[0].attempts == 2
    assert again[0].last_error == "HTTP 500"

    time.sleep(0.6)  # w1 died holding it: the lease runs out
    taken = store.claim_due("w2", datetime.now(UTC), 30, 10)
    assert [d.id for d in taken] == [second[0].id] and taken[0].attempts == 3
    assert not store.mark_failed(second[0].id, "w1", "late", now)
    assert store.mark_failed(second[0].id, "w2", "HTTP 500", now)
    counts = store.counts()
    assert (counts.pending, counts.sent, counts.failed) == (0, 1, 1)
    assert counts.failures[0].last_error == "HTTP 500"
    assert store.get_subscription("a" * 20).last_activity is not None  # type: ignore[union-attr]
    # Not due yet: not claimed.
    store.record_detection([Found("need:n1", (item("c3"),))], [], now + timedelta(hours=1))
    assert store.claim_due("w1", now, 30, 10) == []
    store.close()


def test_meta_values_are_kept(backend: StateBackend) -> None:
    store = open_alert_store(backend)
    assert store.meta("secret", "first") == "first"
    assert open_alert_store(backend).meta("secret", "second") == "first"
    store.close()


def test_inactive_subscriptions_expire_with_what_they_stored(backend: StateBackend) -> None:
    store = open_alert_store(backend)
    store.add_subscription(sub("a" * 20), None)  # made at NOW, nothing delivered since
    store.add_subscription(sub("b" * 20, need="need:n2"), None)
    store.record_detection([Found("need:n2", (item("c1"),))], [], NOW)
    (claimed,) = store.claim_due("w", NOW + timedelta(days=1), 30, 10)
    store.mark_sent(claimed.id, "w", NOW + timedelta(days=100))
    assert store.expire(NOW + timedelta(days=50)) == 1  # "a": quiet for 50 days
    assert store.get_subscription("a" * 20) is None and store.followed_needs() == ["need:n2"]
    assert len(store.deliveries()) == 1
    assert store.expire(NOW + timedelta(days=200)) == 1
    assert store.deliveries() == []  # finished deliveries older than that are forgotten
    store.close()


def test_bars_are_kept_replaced_dropped_with_the_need_and_cleared_for_every_replica(
    backend: StateBackend,
) -> None:
    store = open_alert_store(backend)
    other = open_alert_store(backend)  # another replica
    store.add_subscription(sub("a" * 20), None)
    assert store.bars(["need:n1"]) == ([], store.bars([])[1])
    _, epoch = store.bars(["need:n1"])
    ids = (key_id("call:c1"), key_id("call:c2"))
    bar = Bar("need:n1", "call", NOW, ids, (0.75, 0.5))
    assert store.save_bars([bar, Bar("need:n1", "other", NOW, (), ())], epoch)
    found, same = other.bars(["need:n1", "need:x"])
    assert same == epoch
    assert sorted(found, key=lambda b: b.pool) == [bar, Bar("need:n1", "other", NOW, (), ())]
    newer = Bar("need:n1", "call", NOW + timedelta(hours=1), ids[:1], (0.625,))  # float32-exact
    assert other.save_bars([newer], epoch)
    assert [b for b in store.bars(["need:n1"])[0] if b.pool == "call"] == [newer]
    moved = other.clear_bars()  # a record left the index on the other replica
    found, now = store.bars(["need:n1"])
    assert found == [] and moved == now != epoch
    assert not store.save_bars([bar], epoch)  # read before the clear: not written
    assert store.bars(["need:n1"])[0] == []
    assert store.save_bars([bar], moved)
    assert store.remove_subscription("a" * 20)  # nobody follows it: its bars go
    assert store.bars(["need:n1"])[0] == []
    store.close()
    other.close()
