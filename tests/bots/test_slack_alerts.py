"""Alerts in Slack, end to end: a need saved in a thread is followed there with an explicit
press, a matching call imported later is posted in that thread with 👍 / 👎 / stop (an
unrelated one is not), 👎 is feedback and the record never comes back, 👍 on a call brings
reminders before its deadline, and stop ends everything. Signed requests to the app under
uvicorn; the Slack Web API is the local mock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from simatch.api.app import create_app
from simatch.config import AlertSettings, SlackSettings
from simatch.ingest.readers import RawRow
from tests.bots.conftest import SECRET, LiveServer, MockPlatforms, chat_container
from tests.bots.test_slack import (
    FI_QUESTION,
    Live,
    buttons,
    click,
    dm,
    mention,
    new_channel,
    new_ts,
    reply_in,
    send_event,
    texts,
)

IN_20_DAYS = date.today() + timedelta(days=20)


def call(call_id: str, title: str, text: str, deadline: date = IN_20_DAYS) -> RawRow:
    return RawRow("test", 1, {"kind": "call", "id": call_id, "title": title, "description": text,
                              "funder": "STEA", "deadline": deadline.isoformat(),
                              "language": "fi"})  # fmt: skip


MATCHING = call("c-kyla", "Nuorten yksinäisyys kylällä",
                "Nuorten yksinäisyys kylällä on kasvava ongelma: avustus sen "
                "vähentämiseen.")  # fmt: skip
SECOND = call("c-kyla-2", "Nuorten yksinäisyys kylällä, jatkohaku",
              "Jatkoavustus: nuorten yksinäisyys kylällä on kasvava ongelma, jota vähennetään "
              "kohtaamispaikoilla.")  # fmt: skip
UNRELATED = call("c-tiet", "Yksityisteiden kunnossapito",
                 "Avustus siltojen ja yksityisteiden korjaamiseen.")  # fmt: skip


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, mock_platforms: MockPlatforms) -> Iterator[Live]:
    slack = SlackSettings(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SIMATCH_SLACK_API_URL=f"{mock_platforms.url}/api/",
    )
    # The fake model's similarities are coarse: only clearly similar records alert.
    alerts = AlertSettings(alerts_interval=0, alerts_min_confidence="strong")
    container = chat_container(tmp_path_factory.mktemp("slack-alerts"), slack=slack, alerts=alerts)
    app = create_app(container, warm=False)
    with LiveServer(app) as server:
        yield Live(server.url, container, mock_platforms, app.state.chat_engine)
    container.close()


def posts_in(live: Live, channel: str) -> list[dict[str, Any]]:
    return live.mock.posts(channel=channel)


def action_of(element: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(element["value"])
    return found


def test_a_need_followed_in_a_thread_gets_alerts_there_and_the_buttons_work(live: Live) -> None:
    channel, ts = new_channel(), new_ts()
    send_event(live, mention(channel, FI_QUESTION, ts))
    answer = reply_in(live, channel)
    click(live, channel, answer, buttons(answer, "save_need")[0])
    reply_in(live, channel, count=2)  # the consent prompt
    consent = dm(channel, "Kylätalo ry", thread_ts=ts)
    consent["channel_type"] = "channel"
    send_event(live, consent)
    saved = reply_in(live, channel, count=3)
    # Following is offered, with what it stores, and happens only on a press.
    assert "tunnisteen" in texts(saved)
    assert live.container.alert_store.followed_needs() == []
    (follow,) = buttons(saved, "follow")
    click(live, channel, saved, follow)
    started = reply_in(live, channel, count=4)
    assert started["thread_ts"] == ts and "kerron tänne" in started["text"]
    (sub,) = live.container.alert_store.list_subscriptions()
    assert sub.channel == "slack" and sub.target["channel"] == channel
    assert sub.target["thread_ts"] == ts and "U1" not in json.dumps(sub.target)

    # A matching call is posted in the thread; an unrelated one is not.
    live.container.ingestor.ingest([UNRELATED, MATCHING])
    live.container.alert_service.run()
    alert = reply_in(live, channel, count=5)
    assert alert["thread_ts"] == ts
    shown = texts(alert)
    assert "Nuorten yksinäisyys kylällä" in shown and "Yksityisteiden" not in shown
    assert "Rahoittajat" in shown and "STEA" in shown
    down = buttons(alert, "alert_not_relevant")
    assert [action_of(b)["r"] for b in down] == ["call:c-kyla"]
    assert buttons(alert, "alert_interested") and buttons(alert, "alert_stop")

    # 👎: feedback through the feedback service, and never again for this need.
    click(live, channel, alert, down[0])
    noted = live.mock.wait(lambda: live.mock.posts("chat.postEphemeral", channel=channel))
    assert "Tätä ei lähetetä" in noted[-1]["text"]
    entries = live.container.feedback_service.list(source="alert-slack").items
    assert [(e.item_id, e.verdict) for e in entries] == [("c-kyla", "not_useful")]
    changed = RawRow("test", 1, {**(MATCHING.data or {}), "budget": "50 000 €"})
    live.container.ingestor.ingest([changed])
    live.container.alert_service.run()
    assert len(posts_in(live, channel)) == 5

    # 👍 on a call: reminders 14 and 2 days before its deadline.
    live.container.ingestor.ingest([SECOND])
    live.container.alert_service.run()
    second = reply_in(live, channel, count=6)
    click(live, channel, second, buttons(second, "alert_interested")[0])
    live.mock.wait(lambda: len(live.mock.posts("chat.postEphemeral", channel=channel)) >= 2)
    dispatcher = live.container.alert_dispatcher
    fourteen_before = datetime.combine(IN_20_DAYS - timedelta(days=14), datetime.min.time(), UTC)
    dispatcher.now = lambda: fourteen_before + timedelta(hours=12)
    try:
        live.container.alert_service.run(catch_up=False)
        reminder = reply_in(live, channel, count=7)
        assert reminder["thread_ts"] == ts and "päättyy" in reminder["text"]
        assert "jatkohaku" in texts(reminder)
        live.container.alert_service.run(catch_up=False)
        assert len(posts_in(live, channel)) == 7  # one reminder, not one per run
    finally:
        dispatcher.now = lambda: datetime.now(UTC)

    # Stop: the subscription and what it stored are gone; nothing more is posted.
    click(live, channel, reminder, buttons(reminder, "alert_stop")[0])
    stopped = reply_in(live, channel, count=8)
    assert "lopetettu" in stopped["text"]
    assert live.container.alert_store.list_subscriptions() == []
    third = RawRow("test", 1, {**(SECOND.data or {}), "id": "c-kyla-3"})
    live.container.ingestor.ingest([third])
    live.container.alert_service.run()
    assert len(posts_in(live, channel)) == 8


def test_buttons_of_an_alert_do_nothing_in_another_conversation(live: Live) -> None:
    store = live.container.alert_store
    need = live.container.alert_service.create_need(
        {"title": "Nuorten yksinäisyys", "description": FI_QUESTION, "language": "fi"}
    )
    sub = live.container.alert_service.follow_conversation(
        need["id"], "slack", {"channel": "CSOMEWHERE", "thread_ts": "1.2"}
    )
    other = new_channel()
    message = {"ts": new_ts(), "text": ""}
    stop = {"action_id": "simatch.alert_stop.1",
            "value": json.dumps({"a": "alert_stop", "s": sub.id})}  # fmt: skip
    click(live, other, message, stop)
    reply = reply_in(live, other)
    assert "already been stopped" in reply["text"] or "jo lopetettu" in reply["text"]
    assert store.get_subscription(sub.id) is not None
