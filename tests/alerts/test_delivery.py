"""The outbox and the webhook sender against a real receiver on loopback: retries with
backoff deliver once, a receiver that keeps failing is given up (and staff see it), a 410
ends the subscription, digests wait for their hour."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from simatch.alerts.dispatcher import Dispatcher
from simatch.alerts.schedule import next_digest
from simatch.domain.alerts import AlertItem, Found
from simatch.wiring import Container
from tests.alerts.conftest import MATCHING_CALL, BoxFactory, follow, rows
from tests.alerts.receiver import Receiver


def run_until_quiet(box: Container, rounds: int = 40) -> None:
    """Dispatch until nothing is pending (retries are due after a short backoff here)."""
    for _ in range(rounds):
        box.alert_service.run(catch_up=False)
        if box.alert_store.counts().pending == 0:
            return
        time.sleep(0.02)


def test_a_webhook_that_answers_500_twice_then_200_gets_the_items_once(
    make_box: BoxFactory, receiver: Receiver
) -> None:
    box = make_box()
    follow(box, receiver)
    receiver.fail_next = [500, 500]
    box.ingestor.ingest(rows(MATCHING_CALL))
    run_until_quiet(box)

    assert [r["body"]["items"][0]["id"] for r in receiver.requests] == [MATCHING_CALL["id"]] * 3
    # One delivery, one idempotency key on every attempt, taken once.
    assert len({r["delivery"] for r in receiver.requests}) == 1
    assert len(receiver.accepted) == 1 and receiver.bad_signatures == 0
    (sent,) = box.alert_service.deliveries("sent")
    assert sent.attempts == 3 and sent.last_error is None
    run_until_quiet(box)
    assert len(receiver.requests) == 3  # nothing is sent again


def test_a_receiver_that_keeps_failing_is_given_up_and_shown_to_staff(
    make_box: BoxFactory, receiver: Receiver
) -> None:
    box = make_box(alerts_max_attempts=3)
    follow(box, receiver)
    receiver.fail_next = [503] * 10
    box.ingestor.ingest(rows(MATCHING_CALL))
    run_until_quiet(box)
    assert len(receiver.requests) == 3
    counts = box.alert_service.status()
    assert (counts.pending, counts.sent, counts.failed) == (0, 0, 1)
    assert counts.failures[0].last_error == "HTTP 503" and counts.failures[0].attempts == 3


def test_410_gone_ends_the_subscription(make_box: BoxFactory, receiver: Receiver) -> None:
    box = make_box()
    sub_id = follow(box, receiver)
    receiver.fail_next = [410]
    box.ingestor.ingest(rows(MATCHING_CALL))
    run_until_quiet(box)
    assert box.alert_store.get_subscription(sub_id) is None
    assert box.alert_store.followed_needs() == []


def test_a_daily_digest_groups_items_and_waits_for_its_hour(
    make_box: BoxFactory, receiver: Receiver
) -> None:
    box = make_box()
    follow(box, receiver, frequency="daily")
    second = {**MATCHING_CALL, "id": "c-yksinaisyys-2",
              "title": "Nuorten yksinäisyyden vähentäminen kunnissa"}  # fmt: skip
    box.ingestor.ingest(rows(MATCHING_CALL))
    box.ingestor.ingest(rows(second))
    box.alert_service.run()
    assert receiver.requests == []  # not before the digest hour

    later = next_digest("daily", datetime.now(UTC), 7) + timedelta(minutes=1)
    box.alert_dispatcher.now = lambda: later
    box.alert_service.run()
    (body,) = receiver.accepted.values()
    assert body["kind"] == "digest"
    assert sorted(i["id"] for i in body["items"]) == sorted([MATCHING_CALL["id"], second["id"]])
    box.alert_service.run()
    assert len(receiver.requests) == 1


def test_next_digest_times() -> None:
    monday_6 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert next_digest("daily", monday_6, 7) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert next_digest("daily", monday_6.replace(hour=8), 7) == datetime(2026, 12, 1, 7, tzinfo=UTC)
    assert next_digest("weekly", monday_6, 7) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert next_digest("weekly", monday_6.replace(hour=7), 7) == datetime(
        2026, 12, 7, 7, tzinfo=UTC
    )


def test_webhook_deliveries_go_out_together_each_once(
    make_box: BoxFactory, receiver: Receiver
) -> None:
    box = make_box(seed=False, alerts_send_threads=4)
    item = AlertItem(
        key="call:c1", id="c1", kind="call", section="funders", title="Call", score=0.9,
        confidence="possible", why={"passage": "p", "terms": []}, deadline=None,
    )  # fmt: skip
    receiver.hold = 1.0  # a slow receiver: each answer waits (at most 1 s) for others
    one_by_one = Dispatcher(box.alert_store, box.alert_senders, lambda s: "u", threads=1)
    for dispatcher, threads, deliveries in ((one_by_one, 1, 2), (box.alert_dispatcher, 4, 6)):
        subs = [follow(box, receiver) for _ in range(deliveries)]
        needs = [box.alert_store.get_subscription(s) for s in subs]
        found = [Found(n.need_key, (item,)) for n in needs if n is not None]
        box.alert_store.record_detection(found, [], datetime.now(UTC))
        receiver.most_at_once, receiver.crowd = 0, max(threads, 2)
        assert dispatcher.run().sent == deliveries
        assert receiver.most_at_once == min(threads, deliveries)
    assert len(receiver.accepted) == 8 and receiver.bad_signatures == 0
