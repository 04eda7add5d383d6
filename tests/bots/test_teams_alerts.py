"""Alerts in Teams, end to end: a need saved in a personal chat is followed there with an
explicit press; a matching call imported later arrives as a proactive message with an
Adaptive Card at the saved conversation (the local mock connector); its stop button ends
the subscription. Real HTTP into the app under uvicorn, anonymous mode."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from simatch.api.app import create_app
from simatch.config import AlertSettings, TeamsSettings
from tests.bots.conftest import LiveServer, MockPlatforms, chat_container
from tests.bots.test_slack_alerts import MATCHING, UNRELATED
from tests.bots.test_teams import (
    FI_QUESTION,
    Live,
    activity,
    card_of,
    card_text,
    post,
    replies,
    submits,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, mock_platforms: MockPlatforms) -> Iterator[Live]:
    teams = TeamsSettings(SIMATCH_TEAMS_ALLOW_ANONYMOUS=True)
    alerts = AlertSettings(alerts_interval=0, alerts_min_confidence="strong")
    container = chat_container(tmp_path_factory.mktemp("teams-alerts"), teams=teams, alerts=alerts)
    app = create_app(container, warm=False)
    with LiveServer(app) as server:
        yield Live(server.url, container, mock_platforms)
    container.close()


def test_a_need_followed_in_teams_gets_a_proactive_card_and_stop_ends_it(live: Live) -> None:
    conversation = f"a:personal-{uuid.uuid4().hex[:8]}"
    post(live, activity(live.mock, conversation, FI_QUESTION))
    card = card_of(replies(live, conversation)[0])
    post(live, activity(live.mock, conversation, value=submits(card, "save_need")[0]["data"]))
    replies(live, conversation, 2)
    post(live, activity(live.mock, conversation, "Kylätalo ry"))
    saved = card_of(replies(live, conversation, 3)[2])
    assert "tunnisteen" in card_text(saved)
    assert live.container.alert_store.followed_needs() == []
    post(live, activity(live.mock, conversation, value=submits(saved, "follow")[0]["data"]))
    started = replies(live, conversation, 4)[3]
    assert "kerron tänne" in json.dumps(started, ensure_ascii=False)
    (sub,) = live.container.alert_store.list_subscriptions()
    assert sub.channel == "teams" and sub.target["conversation_id"] == conversation
    assert sub.target["service_url"] == f"{live.mock.url}/"
    assert "aad-user-1" not in json.dumps(sub.target)

    live.container.ingestor.ingest([UNRELATED, MATCHING])
    live.container.alert_service.run()
    alert = card_of(replies(live, conversation, 5)[4])
    shown = card_text(alert)
    assert "Nuorten yksinäisyys kylällä" in shown and "Yksityisteiden" not in shown
    assert submits(alert, "alert_interested") and submits(alert, "alert_not_relevant")

    post(live, activity(live.mock, conversation, value=submits(alert, "alert_stop")[0]["data"]))
    stopped = replies(live, conversation, 6)[5]
    assert "lopetettu" in json.dumps(stopped, ensure_ascii=False)
    assert live.container.alert_store.list_subscriptions() == []
