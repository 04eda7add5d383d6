"""End-to-end fixtures: the simatch app under uvicorn on loopback, and one local mock server
that plays both the Slack Web API and the Teams (Bot Framework) connector and records what
the bots send. No network beyond 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import uvicorn
from fastapi import FastAPI

from simatch.config import (
    AlertSettings,
    EmbeddingSettings,
    IndexSettings,
    Settings,
    SlackSettings,
    TeamsSettings,
    TextSettings,
)
from simatch.wiring import Container
from tests.chat.data import CALIBRATION, fill

SECRET = "test-signing-secret"
BOT_USER, BOT_ID = "UBOT", "BBOT"


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class MockPlatforms:
    """Slack Web API at /api/<method>, response_url at /response/..., Teams connector at /v3/."""

    calls: list[Call] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""
    _ts: int = 1000

    def record(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.cond:
            self._ts += 1
            answer = self._answer(path, body, f"1700000000.{self._ts:06d}")
            self.calls.append(Call(path, body, answer))
            self.cond.notify_all()
        return answer

    @staticmethod
    def _answer(path: str, body: dict[str, Any], ts: str) -> dict[str, Any]:
        if path.endswith("/auth.test"):
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T1"}
        if path.endswith("/chat.postMessage"):
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": {"ts": ts}}
        if path.endswith("/chat.postEphemeral"):
            return {"ok": True, "message_ts": ts}
        if path.startswith("/v3/"):
            return {"id": f"reply-{ts}"}
        return {"ok": True}

    def posts(self, method: str = "chat.postMessage", **match: Any) -> list[dict[str, Any]]:
        """Bodies of the matching Web API calls, each with the ts the mock gave it."""
        with self.cond:
            return [
                {**c.body, "ts": c.answer.get("ts")}
                for c in self.calls
                if c.method == method and all(c.body.get(k) == v for k, v in match.items())
            ]

    def teams(self) -> list[Call]:
        with self.cond:
            return [c for c in self.calls if c.path.startswith("/v3/")]

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                self.cond.release()
                try:
                    found = predicate()
                finally:
                    self.cond.acquire()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; calls so far: {[c.path for c in self.calls]}")
                self.cond.wait(min(left, 0.2))


def _handler(mock: MockPlatforms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = self.headers.get("Content-Type", "")
            body: dict[str, Any] = {}
            if raw and "json" in kind:
                body = json.loads(raw)
            elif raw:
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            for key in ("blocks", "attachments"):
                if isinstance(body.get(key), str):
                    body[key] = json.loads(body[key])
            answer = json.dumps(mock.record(self.path, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def mock_platforms() -> Iterator[MockPlatforms]:
    mock = MockPlatforms()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mock))
    mock.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield mock
    server.shutdown()
    server.server_close()


def chat_container(
    data_dir: Path,
    slack: SlackSettings | None = None,
    teams: TeamsSettings | None = None,
    alerts: AlertSettings | None = None,
) -> Container:
    settings = Settings(
        index=IndexSettings(data_dir=data_dir),
        embedding=EmbeddingSettings(embedding_backend="fake"),
        text=TextSettings(),
        slack=slack,
        teams=teams,
        alerts=alerts or AlertSettings(alerts_interval=0),
    )
    return fill(Container(settings, calibration=CALIBRATION))


class LiveServer:
    """An ASGI app under uvicorn on a loopback port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def slack_headers(body: bytes, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    base = f"v0:{stamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
