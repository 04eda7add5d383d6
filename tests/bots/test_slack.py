"""Slack end to end: signed requests to the app under uvicorn, Web API on a local mock."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from simatch.api.app import create_app
from simatch.bots.slack import SlackBot
from simatch.chat.engine import Engine
from simatch.chat.replies import Incoming
from simatch.config import SlackSettings
from simatch.domain.ports import SearchFilter
from simatch.errors import BackendUnavailable
from simatch.wiring import Container
from tests.bots.conftest import (
    BOT_ID,
    BOT_USER,
    SECRET,
    LiveServer,
    MockPlatforms,
    chat_container,
    slack_headers,
)

FI_QUESTION = "Nuorten yksinäisyys kylällä on kasvava ongelma"
EN_QUESTION = "Loneliness of young people in villages is growing"
_seq = itertools.count(1)


@dataclass
class Live:
    url: str
    container: Container
    mock: MockPlatforms
    engine: Engine


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, mock_platforms: MockPlatforms) -> Iterator[Live]:
    slack = SlackSettings(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SIMATCH_SLACK_API_URL=f"{mock_platforms.url}/api/",
    )
    container = chat_container(tmp_path_factory.mktemp("slack"), slack=slack)
    app = create_app(container, warm=False)
    with LiveServer(app) as server:
        yield Live(server.url, container, mock_platforms, app.state.chat_engine)
    container.close()


def new_channel(prefix: str = "C") -> str:
    return prefix + uuid.uuid4().hex[:10].upper()


def new_ts() -> str:
    return f"{int(time.time())}.{next(_seq):06d}"


def send(live: Live, body: bytes, content_type: str, **headers: str) -> httpx.Response:
    signed = slack_headers(body)
    signed.update(headers)
    return httpx.post(
        f"{live.url}/slack/events",
        content=body,
        headers={"Content-Type": content_type, **signed},
        timeout=10,
    )


def send_event(live: Live, event: dict[str, Any], **headers: str) -> httpx.Response:
    envelope = {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": headers.pop("event_id", f"Ev{uuid.uuid4().hex[:12]}"),
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
    }
    return send(live, json.dumps(envelope).encode(), "application/json", **headers)


def mention(channel: str, text: str, ts: str, user: str = "U1") -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts,
            "channel": channel, "event_ts": ts}  # fmt: skip


def dm(channel: str, text: str, user: str = "U1", **extra: Any) -> dict[str, Any]:
    ts = new_ts()
    return {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
            "channel": channel, "event_ts": ts, **extra}  # fmt: skip


def click(live: Live, channel: str, message: dict[str, Any], element: dict[str, Any],
          user: str = "U1") -> httpx.Response:  # fmt: skip
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                      "thread_ts": message.get("thread_ts")},
        "message": {"type": "message", "ts": message["ts"], "thread_ts": message.get("thread_ts"),
                    "text": message.get("text", "")},
        "trigger_id": "trigger",
        "response_url": f"{live.mock.url}/response/actions",
        "actions": [{"type": "button", "action_id": element["action_id"], "block_id": "b",
                     "value": element["value"], "action_ts": new_ts()}],
    }  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return send(live, body, "application/x-www-form-urlencoded")


def reply_in(live: Live, channel: str, count: int = 1, **match: Any) -> dict[str, Any]:
    posts = live.mock.wait(lambda: len(live.mock.posts(channel=channel, **match)) >= count)
    assert posts
    return live.mock.posts(channel=channel, **match)[count - 1]


def texts(post: dict[str, Any]) -> str:
    out = []
    for block in post["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            out.append(
                element["text"] if isinstance(element["text"], str) else element["text"]["text"]
            )
    return "\n".join(out)


def buttons(post: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        element
        for block in post["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if json.loads(element["value"])["a"] == action
    ]


def test_url_verification(live: Live) -> None:
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "abc123"}).encode()
    response = send(live, body, "application/json")
    assert response.status_code == 200 and response.json() == {"challenge": "abc123"}


def test_mention_is_answered_in_its_thread_in_finnish(live: Live) -> None:
    channel, ts = new_channel(), new_ts()
    response = send_event(live, mention(channel, FI_QUESTION, ts))
    assert response.status_code == 200
    post = reply_in(live, channel)
    assert post["thread_ts"] == ts
    shown = texts(post)
    for heading in ("*Ratkaisut*", "*Kumppanit*", "*Rahoittajat*"):
        assert heading in shown
    assert "Tässä mitä löysin" in post["text"]
    assert "<https://example.org/i1|Nuorten yksinäisyys kylällä>" in shown
    assert len(buttons(post, "feedback")) == 2 * 9
    assert [b["text"]["text"] for b in buttons(post, "more") + buttons(post, "save_need")] == [
        "Näytä lisää",
        "Tallenna tarpeeksi",
    ]
    # A plain reply in that thread, without a mention, refines the question.
    follow = dm(channel, "only Uusimaa", thread_ts=ts)
    follow["channel_type"] = "channel"
    send_event(live, follow)
    refined = reply_in(live, channel, count=2)
    assert refined["thread_ts"] == ts
    assert "Only: Uusimaa" in texts(refined) and "*Solutions*" in texts(refined)
    # People talking to each other in the thread are left alone.
    chatter = dm(channel, "Kiitos, katsotaan näitä huomenna palaverissa", user="U2", thread_ts=ts)
    chatter["channel_type"] = "channel"
    send_event(live, chatter)
    control(live)
    assert len(live.mock.posts(channel=channel)) == 2


def test_direct_message_in_english_is_answered_in_the_dm(live: Live) -> None:
    channel = new_channel("D")
    send_event(live, dm(channel, EN_QUESTION))
    post = reply_in(live, channel)
    assert "thread_ts" not in post
    assert "*Solutions*" in texts(post) and "Here's what I found" in post["text"]
    assert [b["text"]["text"] for b in buttons(post, "more")] == ["Show more"]


def test_slash_command_is_acknowledged_at_once_and_answered_after(live: Live) -> None:
    channel = new_channel()
    form = {"token": "t", "team_id": "T1", "channel_id": channel, "user_id": "U7",
            "command": "/match", "text": FI_QUESTION, "trigger_id": "tr",
            "response_url": f"{live.mock.url}/response/cmd"}  # fmt: skip
    started = time.monotonic()
    response = send(live, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert response.status_code == 200 and time.monotonic() - started < 3
    assert response.text == "🔎 Etsin osumia…"
    post = reply_in(live, channel)
    assert "thread_ts" not in post
    assert post["text"].startswith(f"<@U7> kysyi: ”{FI_QUESTION}”")
    assert "*Rahoittajat*" in texts(post)
    # Its thread continues the conversation.
    answer_ts = post["ts"]
    follow = dm(channel, "lisää rahoittajia", user="U7", thread_ts=answer_ts)
    follow["channel_type"] = "channel"
    send_event(live, follow)
    more = reply_in(live, channel, count=2)
    assert more["thread_ts"] == answer_ts and "Lisää tuloksia" in more["text"]


def test_buttons_feedback_show_more_and_save_as_need(live: Live) -> None:
    channel, ts = new_channel(), new_ts()
    send_event(live, mention(channel, FI_QUESTION, ts))
    answer = reply_in(live, channel)
    # 👍 on the first solution reaches the feedback service; the thanks is ephemeral.
    up = buttons(answer, "feedback")[0]
    assert click(live, channel, answer, up).status_code == 200
    thanks = live.mock.wait(lambda: live.mock.posts("chat.postEphemeral", channel=channel))
    assert thanks[0]["user"] == "U1" and thanks[0]["thread_ts"] == ts
    assert "Kiitos" in thanks[0]["text"]
    entries = live.container.feedback_service.list(source="slack").items
    assert any(e.item_id == "i1" and e.verdict == "useful" for e in entries)
    # Show more: the next results, in the same thread.
    click(live, channel, answer, buttons(answer, "more")[0])
    more = reply_in(live, channel, count=2)
    assert more["thread_ts"] == ts and "Lisää tuloksia" in more["text"]
    # Save as a need: consent first, then the organisation's name in the thread.
    click(live, channel, answer, buttons(answer, "save_need")[0])
    prompt = reply_in(live, channel, count=3)
    assert "Tallentaisin" in prompt["text"] and buttons(prompt, "cancel")
    consent = dm(channel, "Kylätalo ry", thread_ts=ts)
    consent["channel_type"] = "channel"
    send_event(live, consent)
    saved = reply_in(live, channel, count=4)
    assert saved["text"].startswith("Tallennettu tarpeeksi chat-")
    hits = live.container.index.scroll(SearchFilter(kinds=("need",)), 100)[0]
    assert any(h.payload["record"].get("organisation") == "Kylätalo ry" for h in hits)


def control(live: Live) -> None:
    """A message that must be answered: once it is, earlier ignored ones had their chance."""
    channel = new_channel("D")
    send_event(live, dm(channel, "apua"))
    reply_in(live, channel)


def test_bad_signature_and_stale_timestamp_are_refused(live: Live) -> None:
    channel = new_channel()
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvBad",
                       "event": mention(channel, FI_QUESTION, new_ts())}).encode()  # fmt: skip
    bad = slack_headers(body, secret="wrong-secret")
    response = httpx.post(f"{live.url}/slack/events", content=body,
                          headers={"Content-Type": "application/json", **bad})  # fmt: skip
    assert response.status_code == 401
    stale = slack_headers(body, ts=int(time.time()) - 600)
    response = httpx.post(f"{live.url}/slack/events", content=body,
                          headers={"Content-Type": "application/json", **stale})  # fmt: skip
    assert response.status_code == 401
    control(live)
    assert live.mock.posts(channel=channel) == []


def test_retries_never_produce_a_second_answer(live: Live) -> None:
    channel, ts = new_channel(), new_ts()
    event = mention(channel, FI_QUESTION, ts)
    assert send_event(live, event, event_id="EvRetry1").status_code == 200
    reply_in(live, channel)
    retry = send_event(live, event, event_id="EvRetry1", **{"X-Slack-Retry-Num": "1",
                       "X-Slack-Retry-Reason": "http_timeout"})  # fmt: skip
    assert retry.status_code == 200
    assert send_event(live, event, event_id="EvRetry1").status_code == 200  # same id again
    other = mention(channel, FI_QUESTION, new_ts())
    assert send_event(live, other, **{"X-Slack-Retry-Num": "2"}).status_code == 200
    control(live)
    assert len(live.mock.posts(channel=channel)) == 1


def test_bots_and_its_own_messages_are_ignored(live: Live) -> None:
    channel = new_channel("D")
    send_event(live, dm(channel, FI_QUESTION, user="UOTHER", bot_id="BOTHER"))
    send_event(live, dm(channel, FI_QUESTION, user=BOT_USER, bot_id=BOT_ID))
    send_event(live, dm(channel, FI_QUESTION, subtype="message_changed"))
    top_level = dm(new_channel(), FI_QUESTION)
    top_level["channel_type"] = "channel"  # channel messages need a mention
    send_event(live, top_level)
    control(live)
    assert live.mock.posts(channel=channel) == []
    assert live.mock.posts(channel=top_level["channel"]) == []


def test_routes_are_not_mounted_without_settings(tmp_path: Any) -> None:
    container = chat_container(tmp_path / "bare")
    try:
        app = create_app(container, warm=False)
        paths = {getattr(r, "path", "") for r in app.routes}
        assert "/slack/events" not in paths and "/api/messages" not in paths
    finally:
        container.close()


class _Down:
    def match(self, query: Any, **options: Any) -> Any:
        raise BackendUnavailable("index down")


def test_a_failing_index_gets_a_short_apology_not_silence(live: Live) -> None:
    working = live.engine.matches
    live.engine.matches = _Down()
    try:
        channel = new_channel("D")
        send_event(live, dm(channel, EN_QUESTION))
        post = reply_in(live, channel)
    finally:
        live.engine.matches = working
    assert post["text"] == "Sorry, I can't search right now. Please try again in a minute."


async def test_a_slow_answer_becomes_an_apology_in_the_users_language() -> None:
    engine = Engine(_Down(), None, None, None)  # type: ignore[arg-type]
    settings = SlackSettings(SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s")
    bot = SlackBot(engine, settings, timeout=0.05)

    def slow(msg: Incoming) -> Any:
        time.sleep(0.5)
        raise AssertionError("not reached in time")

    reply = await bot._run(slow, Incoming("slack", "U1", "k", EN_QUESTION), EN_QUESTION)
    assert reply.kind == "error" and reply.language == "en"
    finnish = await bot._run(slow, Incoming("slack", "U1", "k", FI_QUESTION), FI_QUESTION)
    assert finnish.text.startswith("Pahoittelen")
