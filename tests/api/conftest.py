"""The API through the real app: a Container with the fake embedder on tmp_path.

The text analyzer is built once per session and shared (its first use loads dictionaries
for about two seconds); everything else is built per test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from simatch.api.app import create_app
from simatch.config import (
    AlertSettings,
    ApiSettings,
    EmbeddingSettings,
    FeedbackSettings,
    IndexSettings,
    IngestEnvSettings,
    MatchSettings,
    Settings,
    SourceSettings,
    StateSettings,
    TextSettings,
)
from simatch.domain.confidence import Calibration
from simatch.domain.ports import Embedder, TextAnalyzer, VectorIndex
from simatch.index.factory import build_index
from simatch.ingest.readers import RawRow
from simatch.text.factory import build_text_analyzer
from simatch.wiring import Container

SEED: list[dict[str, Any]] = [
    {
        "kind": "innovation",
        "id": "i-olohuone",
        "title": "Kylän nuorten olohuone",
        "summary": "Nuoret kokoontuvat kylätalon olohuoneessa ja yksinäisyys vähenee.",
        "organisation": "Kylä ry",
        "regions": ["Kainuu"],
        "funders": ["STEA"],
        "language": "fi",
    },
    {
        "kind": "innovation",
        "id": "i-kerho",
        "title": "Nuorten iltakerho",
        "summary": "Nuoret kokoontuvat iltaisin kerhossa ja yksinäisyys vähenee kylällä.",
        "organisation": "Kerho ry",
        "regions": ["Kainuu"],
        "language": "fi",
    },
    {
        "kind": "innovation",
        "id": "i-ruoka",
        "title": "Yhteinen ruokapöytä",
        "summary": "Ikäihmiset syövät yhdessä lounasta palvelutalossa.",
        "organisation": "Ruoka ry",
        "regions": ["Uusimaa"],
        "language": "fi",
    },
    {
        "kind": "need",
        "id": "n-yksin",
        "title": "Yksinäiset nuoret",
        "description": "Kunnassamme nuoret ovat yksinäisiä eikä heillä ole paikkaa kokoontua.",
        "organisation": "Pikkukunta",
        "language": "fi",
    },
    {
        "kind": "call",
        "id": "c-stea",
        "title": "Avustushaku nuorten hyvinvointiin",
        "description": "Rahoitusta nuorten yksinäisyyden ehkäisyyn.",
        "funder": "STEA",
        "deadline": "2099-01-31",
        "language": "fi",
    },
    {
        "kind": "actor",
        "id": "a-kyla",
        "name": "Kylä ry",
        "description": "Kyläyhdistys Kainuussa, nuorisotyötä.",
        "language": "fi",
    },
]


@pytest.fixture(scope="session")
def analyzer() -> TextAnalyzer:
    built = build_text_analyzer(TextSettings())
    built.detect_language("nuoret kokoontuvat")
    built.analyse_query("yksinäiset nuoret", "fi")
    built.analyse_query("lonely young people", "en")
    return built


@dataclass
class Api:
    client: TestClient
    box: Container
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> FastAPI:
        app: FastAPI = self.client.app  # type: ignore[assignment]
        return app

    def headers(self, scope: str) -> dict[str, str]:
        """Authorization for a key with this scope (created on first use)."""
        if scope not in self._tokens:
            self._tokens[scope] = self.box.keys.create(f"test {scope}", [scope])[1]
        return {"Authorization": f"Bearer {self._tokens[scope]}"}

    def seed(self, records: list[dict[str, Any]] | None = None) -> None:
        rows = [RawRow("seed", n, dict(r)) for n, r in enumerate(records or SEED, start=1)]
        report = self.box.ingestor.ingest(rows)
        assert not report.rejected, report.rejected


ApiFactory = Callable[..., Api]


@pytest.fixture
def make_api(tmp_path: Path, analyzer: TextAnalyzer) -> Iterator[ApiFactory]:
    """``make_api(api={...}, feedback={...}, index={...}, embedder=...)``; rate limits off
    unless given. ``wrap_index`` wraps the index the container opens (to make it fail)."""
    made: list[Api] = []

    def factory(
        *,
        api: dict[str, Any] | None = None,
        feedback: dict[str, Any] | None = None,
        index: dict[str, Any] | None = None,
        match: dict[str, Any] | None = None,
        ingest: dict[str, Any] | None = None,
        alerts: dict[str, Any] | None = None,
        embedder: Embedder | None = None,
        calibration: Calibration | None = None,
        wrap_index: Callable[[VectorIndex], VectorIndex] | None = None,
        sources: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> Api:
        api_settings = {"rate_limit_per_key": 0, "rate_limit_per_client": 0, **(api or {})}
        settings = Settings(
            index=IndexSettings(**{"data_dir": tmp_path / f"data{len(made)}", **(index or {})}),
            state=StateSettings(**(state or {})),
            embedding=EmbeddingSettings(embedding_backend="fake"),
            text=TextSettings(),
            match=MatchSettings(**(match or {})),
            ingest=IngestEnvSettings(**{"optimize_after": 10**9, **(ingest or {})}),
            api=ApiSettings(**api_settings),
            feedback=FeedbackSettings(**(feedback or {})),
            # Sources on loopback only: a port nothing listens on unless a test gives a mock.
            sources=SourceSettings(
                **{
                    "euft_url": "http://127.0.0.1:9/search",
                    "haeavustuksia_url": "http://127.0.0.1:9/api/haku/list-items",
                    "source_retries": 0,
                    "source_page_delay": 0,
                    **(sources or {}),
                }
            ),
            # No background alerts tick unless a test asks for one.
            alerts=AlertSettings(**{"alerts_interval": 0, **(alerts or {})}),
        )
        index = wrap_index(build_index(settings.index)) if wrap_index else None
        box = Container(
            settings, embedder=embedder, analyzer=analyzer, calibration=calibration, index=index
        )
        client = TestClient(create_app(box, warm=False), raise_server_exceptions=False)
        client.__enter__()
        made.append(Api(client, box))
        return made[-1]

    yield factory
    for built in made:
        built.client.__exit__(None, None, None)
        built.box.close()


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    return make_api()


@pytest.fixture
def seeded(api: Api) -> Api:
    api.seed()
    return api


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on loopback, for tests that need a real HTTP connection."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape, on every 4xx/5xx."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "details"} and {"code", "message"} <= set(error)
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    assert response.headers.get("x-request-id")
    return error
