"""Slack over Socket Mode: a local aiohttp server plays apps.connections.open, the WebSocket
and chat.postMessage. Envelopes are acknowledged; retries are not answered twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from simatch.bots.slack import run_socket_mode
from simatch.config import SlackSettings
from tests.bots.conftest import BOT_ID, BOT_USER, chat_container


@dataclass
class SocketMock:
    posts: list[dict[str, Any]] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.json() if request.can_read_body else {}
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"{self.url.replace('http', 'ws')}/link"})
        if method == "chat.postMessage":
            self.posts.append(body)
            return web.json_response({"ok": True, "ts": f"1700000000.{len(self.posts):06d}"})
        return web.json_response({"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.acks.append(json.loads(msg.data).get("envelope_id", ""))
        return ws

    async def send(self, envelope_id: str, event: dict[str, Any], retry: int = 0) -> None:
        payload = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                   "event_id": f"Ev-{envelope_id}", "event": event}  # fmt: skip
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": "events_api",
                "payload": payload,
                "accepts_response_payload": False,
                "retry_attempt": retry,
                "retry_reason": "timeout" if retry else "",
            }
        )


@pytest.fixture
async def socket_mock() -> AsyncIterator[SocketMock]:
    mock = SocketMock()
    app = web.Application()
    app.router.add_post("/api/{method}", mock.api)
    app.router.add_get("/link", mock.link)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    mock.url = f"http://127.0.0.1:{port}"
    yield mock
    for ws in mock.sockets:
        await ws.close()
    await runner.cleanup()


async def wait_for(condition: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_socket_mode_answers_once_and_acknowledges(
    socket_mock: SocketMock, tmp_path: Path
) -> None:
    settings = SlackSettings(
        SLACK_BOT_TOKEN="xoxb-socket",
        SLACK_APP_TOKEN="xapp-socket",
        SIMATCH_SLACK_SOCKET_MODE=True,
        SIMATCH_SLACK_API_URL=f"{socket_mock.url}/api/",
    )
    container = chat_container(tmp_path / "socket", slack=settings)
    engine = container.chat_engine
    task = asyncio.create_task(run_socket_mode(engine, settings))
    try:
        await asyncio.wait_for(socket_mock.connected.wait(), 15)
        event = {"type": "message", "channel_type": "im", "channel": "DSOCK", "user": "U1",
                 "text": "Loneliness of young people in villages is growing",
                 "ts": "1700000001.000100"}  # fmt: skip
        await socket_mock.send("env-1", event)
        await wait_for(lambda: socket_mock.posts)
        assert socket_mock.posts[0]["channel"] == "DSOCK"
        assert "Here's what I found" in socket_mock.posts[0]["text"]
        await socket_mock.send("env-2", event, retry=1)  # Slack's redelivery
        await socket_mock.send("env-3", {**event, "text": "apua", "ts": "1700000001.000200"})
        await wait_for(lambda: len(socket_mock.posts) >= 2)
        await asyncio.sleep(0.2)
        assert [p["text"][:5] for p in socket_mock.posts] == ["Here'", "*Auta"]
        assert {"env-1", "env-2", "env-3"} <= set(socket_mock.acks)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        container.close()
