"""Teams end to end: Activities POSTed to /api/messages, replies caught by a mock connector."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simatch.api.app import create_app
from simatch.config import TeamsSettings
from simatch.wiring import Container
from tests.bots.conftest import LiveServer, MockPlatforms, chat_container

FI_QUESTION = "Nuorten yksinäisyys kylällä on kasvava ongelma"
EN_QUESTION = "Loneliness of young people in villages is growing"
CARD = "application/vnd.microsoft.card.adaptive"


@dataclass
class Live:
    url: str
    container: Container
    mock: MockPlatforms


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, mock_platforms: MockPlatforms) -> Iterator[Live]:
    teams = TeamsSettings(SIMATCH_TEAMS_ALLOW_ANONYMOUS=True)
    container = chat_container(tmp_path_factory.mktemp("teams"), teams=teams)
    app = create_app(container, warm=False)
    with LiveServer(app) as server:
        yield Live(server.url, container, mock_platforms)
    container.close()


def activity(
    mock: MockPlatforms,
    conversation: str,
    text: str | None = None,
    value: dict[str, Any] | None = None,
    conversation_type: str = "personal",
    mention: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "id": f"act-{uuid.uuid4().hex[:8]}",
        "channelId": "msteams",
        "serviceUrl": f"{mock.url}/",
        "from": {"id": "29:user-1", "name": "Maija", "aadObjectId": "aad-user-1"},
        "recipient": {"id": "28:simatch-bot", "name": "simatch"},
        "conversation": {"id": conversation, "conversationType": conversation_type},
        "locale": "fi-FI",
    }
    if text is not None:
        body["text"] = f"<at>simatch</at> {text}" if mention else text
    if mention:
        body["entities"] = [
            {
                "type": "mention",
                "mentioned": {"id": "28:simatch-bot", "name": "simatch"},
                "text": "<at>simatch</at>",
            }
        ]
    if value is not None:
        body["value"] = value
    return body


def post(live: Live, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{live.url}/api/messages", json=body, headers=headers, timeout=20)


def replies(live: Live, conversation: str, count: int = 1) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        return [c.body for c in live.mock.teams() if c.body["conversation"]["id"] == conversation]

    live.mock.wait(lambda: len(found()) >= count)
    return found()


def card_of(reply: dict[str, Any]) -> dict[str, Any]:
    attachment = reply["attachments"][0]
    assert attachment["contentType"] == CARD
    content: dict[str, Any] = attachment["content"]
    return content


def card_text(card: dict[str, Any]) -> str:
    return json.dumps(card, ensure_ascii=False)


def submits(card: dict[str, Any], action: str) -> list[dict[str, Any]]:
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "Action.Submit"
                and json.loads(node["data"]["simatch"])["a"] == action
            ):
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


def test_personal_chat_gets_an_adaptive_card_in_the_users_language(live: Live) -> None:
    conversation = f"a:personal-{uuid.uuid4().hex[:8]}"
    sent = activity(live.mock, conversation, FI_QUESTION)
    response = post(live, sent)
    assert response.status_code == 202
    (reply,) = replies(live, conversation)
    assert reply["replyToId"] == sent["id"]
    card = card_of(reply)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    shown = card_text(card)
    for heading in ("**Ratkaisut**", "**Kumppanit**", "**Rahoittajat**"):
        assert heading in shown
    assert "[Nuorten yksinäisyys kylällä](https://example.org/i1)" in shown
    assert len(submits(card, "feedback")) == 18
    assert [a["title"] for a in card["actions"]] == ["Näytä lisää", "Tallenna tarpeeksi"]
    # 👍 comes back as a message with a value; it reaches the feedback service.
    up = submits(card, "feedback")[0]
    post(live, activity(live.mock, conversation, value=up["data"]))
    thanks = replies(live, conversation, 2)[1]
    assert thanks["text"].startswith("Kiitos") and not thanks.get("attachments")
    entries = live.container.feedback_service.list(source="teams").items
    assert any(e.item_id == "i1" and e.verdict == "useful" for e in entries)
    # Show more.
    post(live, activity(live.mock, conversation, value=card["actions"][0]["data"]))
    more = card_of(replies(live, conversation, 3)[2])
    assert "Lisää tuloksia" in card_text(more)


def test_channel_mention_is_answered_in_english_in_its_thread(live: Live) -> None:
    conversation = f"19:chan-{uuid.uuid4().hex[:6]}@thread.tacv2;messageid=1700000000001"
    sent = activity(live.mock, conversation, EN_QUESTION, conversation_type="channel",
                    mention=True)  # fmt: skip
    assert post(live, sent).status_code == 202
    (reply,) = replies(live, conversation)
    shown = card_text(card_of(reply))
    assert "**Solutions**" in shown and "Here's what I found" in shown
    follow = activity(live.mock, conversation, "vain Uusimaa", conversation_type="channel",
                      mention=True)  # fmt: skip
    post(live, follow)
    refined = card_text(card_of(replies(live, conversation, 2)[1]))
    assert "Vain: Uusimaa" in refined and "**Ratkaisut**" in refined


def test_a_new_personal_chat_gets_a_welcome(live: Live) -> None:
    conversation = f"a:personal-{uuid.uuid4().hex[:8]}"
    update = activity(live.mock, conversation)
    update.update(type="conversationUpdate", membersAdded=[{"id": "29:user-1"}])
    assert post(live, update).status_code == 202
    (reply,) = replies(live, conversation)
    assert reply["text"].startswith("Hei! 👋") and "**apua**" in reply["text"]


def test_help_is_plain_text(live: Live) -> None:
    conversation = f"a:personal-{uuid.uuid4().hex[:8]}"
    post(live, activity(live.mock, conversation, "help"))
    (reply,) = replies(live, conversation)
    assert "**What I store:**" in reply["text"] and reply.get("textFormat") == "markdown"


async def test_with_jwt_validation_an_unsigned_request_is_rejected(
    tmp_path: Any, mock_platforms: MockPlatforms
) -> None:
    prefix = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(prefix + "CLIENTID", "00000000-0000-0000-0000-000000000001")
        env.setenv(prefix + "TENANTID", "00000000-0000-0000-0000-000000000002")
        env.setenv(prefix + "CLIENTSECRET", "not-a-real-secret")
        container = chat_container(tmp_path / "jwt", teams=TeamsSettings())
    try:
        app = create_app(container, warm=False)
        conversation = f"a:jwt-{uuid.uuid4().hex[:8]}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as c:
            body = activity(mock_platforms, conversation, FI_QUESTION)
            assert (await c.post("/api/messages", json=body)).status_code == 401
            headers = {"Authorization": "Basic eA=="}
            bad = await c.post("/api/messages", json=body, headers=headers)
            assert bad.status_code == 401
        assert [
            x for x in mock_platforms.teams() if x.body["conversation"]["id"] == conversation
        ] == []
    finally:
        container.close()


def test_anonymous_mode_only_with_the_setting_and_with_a_warning(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert not TeamsSettings().enabled
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SIMATCH_TEAMS_ALLOW_ANONYMOUS", "true")
        container = chat_container(tmp_path / "anon", teams=TeamsSettings())
    try:
        with caplog.at_level(logging.WARNING):
            app = create_app(container, warm=False)
        assert "/api/messages" in {getattr(r, "path", "") for r in app.routes}
        assert any("SIMATCH_TEAMS_ALLOW_ANONYMOUS=true" in r.getMessage() for r in caplog.records)
    finally:
        container.close()
