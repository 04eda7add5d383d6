"""The Slack app: Bolt for Python (async) in front of the conversation engine.

Events API at ``POST /slack/events`` inside the simatch FastAPI app, or Socket Mode
(``python -m simatch.bots.slack``). Direct messages are answered in the DM; @-mentions in
channels are answered in the thread, and once the assistant takes part in a thread, plain
replies in it count as follow-ups. ``/match`` is acknowledged at once and answered after.

Bolt verifies every request's signature and timestamp (401 otherwise, nothing posted);
retries (``X-Slack-Retry-Num`` above 0) and repeated event ids are acknowledged and dropped,
so no question is answered twice. Messages from bots, this one included, are ignored.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from simatch.bots.bounded import run_bounded
from simatch.bots.slack_blocks import ACTION_PREFIX, blocks, escape, fallback_text, plain_text
from simatch.chat.engine import Engine
from simatch.chat.replies import ActionEvent, Incoming, Reply, decode_action
from simatch.config import SlackSettings

log = logging.getLogger(__name__)
PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
SEEN_EVENTS = 2000  # event ids remembered to drop duplicate deliveries
T = TypeVar("T")


def thread_key(channel: str, thread_ts: str | None) -> str:
    """A conversation: a thread, or a whole DM for messages outside threads."""
    return f"{PLATFORM}:{channel}:{thread_ts}" if thread_ts else f"{PLATFORM}:{channel}"


def is_dm(channel: str) -> bool:
    return channel.startswith("D")


class SlackBot:
    def __init__(self, engine: Engine, settings: SlackSettings, timeout: float = 10.0) -> None:
        if settings.bot_token is None:
            raise ValueError("SlackBot needs SLACK_BOT_TOKEN")
        self.engine = engine
        self.timeout = timeout
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
        self.app = AsyncApp(
            name="simatch",
            token=settings.bot_token.get_secret_value(),
            signing_secret=secret,
            request_verification_enabled=not settings.socket_mode,
        )
        if settings.api_url:  # every per-request client copies the base URL from this one
            self.app.client.base_url = settings.api_url
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.app.middleware(self._drop_retries)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)
        self.app.command("/match")(ack=self._ack_command, lazy=[self._answer_command])
        self.app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        self.handler = AsyncSlackRequestHandler(self.app)

    def mount(self, app: FastAPI, path: str = EVENTS_PATH) -> None:
        async def slack_events(request: Request) -> Response:
            response: Response = await self.handler.handle(request)
            return response

        app.add_api_route(path, slack_events, methods=["POST"], include_in_schema=False)

    # -- listeners --------------------------------------------------------------------------

    async def _drop_retries(
        self, req: AsyncBoltRequest, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        retry = req.headers.get("x-slack-retry-num") or ["0"]
        if retry[0].isdigit() and int(retry[0]) > 0:
            return BoltResponse(status=200, body="")
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        if isinstance(event_id, str):
            if event_id in self._seen:
                return BoltResponse(status=200, body="")
            self._seen[event_id] = None
            while len(self._seen) > SEEN_EVENTS:
                self._seen.popitem(last=False)
        await next()
        return None

    async def _on_mention(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("bot_id"):
            return
        channel = str(event["channel"])
        thread = event.get("thread_ts") or event.get("ts")
        await self._converse(client, channel, thread, str(event.get("user", "")), event)

    async def _on_message(
        self, event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return  # other bots, edits, joins ...
        user = event.get("user")
        if not user:
            return
        channel = str(event["channel"])
        thread = event.get("thread_ts")
        if event.get("channel_type") == "im" or is_dm(channel):
            await self._converse(client, channel, thread, str(user), event)
            return
        bot = context.bot_user_id
        if not thread or (bot and f"<@{bot}" in str(event.get("text", ""))):
            return  # channel messages need a mention, which app_mention answers
        if self.engine.knows(thread_key(channel, thread)):
            await self._converse(client, channel, thread, str(user), event, addressed=False)

    async def _ack_command(self, ack: Any, command: dict[str, Any]) -> None:
        text = plain_text(str(command.get("text", "")))
        lang = self.engine.catalogue.language(self.engine.detect(text) if text else None)
        if not text:
            await ack(text=self.engine.catalogue.text(lang, "help"))
        else:
            await ack(text=self.engine.catalogue.text(lang, "working"))

    async def _answer_command(
        self, command: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        text = plain_text(str(command.get("text", "")))
        if not text:
            return
        channel, user = str(command["channel_id"]), str(command["user_id"])
        key = thread_key(channel, None if is_dm(channel) else f"cmd-{uuid.uuid4().hex}")
        reply = await self._run(self.engine.handle, Incoming(PLATFORM, user, key, text), text)
        if reply is None:
            return
        if not is_dm(channel):
            asked = self.engine.catalogue.text(
                reply.language, "asked_by", user=user, question=escape(text)
            )
            reply.text = f"{asked}\n{reply.text}"
        try:
            posted = await self._post(client, channel, None, reply, user)
        except SlackApiError as exc:  # not in the channel: answer the person privately
            log.info("cannot post in %s (%s); answering through response_url", channel, exc)
            await respond(
                text=fallback_text(reply), blocks=blocks(reply), response_type="ephemeral"
            )
            return
        if posted and not is_dm(channel):
            self.engine.rebind(key, thread_key(channel, posted))

    async def _on_action(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        decoded = decode_action(action.get("value"))
        if decoded is None:
            return
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id", ""))
        thread = message.get("thread_ts") or container.get("thread_ts")
        if not thread and not is_dm(channel):
            thread = message.get("ts") or container.get("message_ts")
        user = str((body.get("user") or {}).get("id", ""))
        reference = {"channel": channel, "thread_ts": str(thread or "")}
        event = ActionEvent(
            PLATFORM, user, thread_key(channel, thread), *decoded, reference=reference
        )
        reply = await self._run(self.engine.act, event, "")
        if reply is None:
            return
        try:
            await self._post(client, channel, thread, reply, user)
        except SlackApiError as exc:
            log.warning("could not answer a button in %s: %s", channel, exc)

    # -- helpers ----------------------------------------------------------------------------

    async def _converse(
        self,
        client: AsyncWebClient,
        channel: str,
        thread: str | None,
        user: str,
        event: dict[str, Any],
        addressed: bool = True,
    ) -> None:
        text = plain_text(str(event.get("text", "")))
        msg = Incoming(PLATFORM, user, thread_key(channel, thread), text, addressed)
        reply = await self._run(self.engine.handle, msg, text)
        if reply is None:
            return
        try:
            await self._post(client, channel, thread, reply, user)
        except SlackApiError as exc:
            log.warning("could not answer in %s: %s", channel, exc)

    async def _run(self, func: Callable[[T], Reply | None], arg: T, text: str) -> Reply | None:
        return await run_bounded(self.engine, func, arg, text, self.timeout)

    async def _post(
        self, client: AsyncWebClient, channel: str, thread: str | None, reply: Reply, user: str
    ) -> str | None:
        """Post the reply; returns its ts (None for a private, ephemeral reply)."""
        args: dict[str, Any] = {
            "channel": channel,
            "text": fallback_text(reply),
            "blocks": blocks(reply),
        }
        if thread:
            args["thread_ts"] = thread
        if reply.private and user:
            await client.chat_postEphemeral(user=user, **args)
            return None
        response = await client.chat_postMessage(unfurl_links=False, unfurl_media=False, **args)
        ts = response.get("ts")
        return str(ts) if ts else None


async def run_socket_mode(engine: Engine, settings: SlackSettings, timeout: float = 10.0) -> None:
    """Receive events over a WebSocket (no public URL needed); runs until cancelled."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    if settings.app_token is None:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    bot = SlackBot(engine, settings, timeout)
    handler = AsyncSocketModeHandler(bot.app, settings.app_token.get_secret_value())
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


def main() -> None:  # pragma: no cover - runs until stopped
    """``python -m simatch.bots.slack``: the Slack app over Socket Mode, without HTTP."""
    from simatch.config import load_settings
    from simatch.wiring import Container

    logging.basicConfig(level=logging.INFO)
    container = Container(load_settings(slack=SlackSettings(SIMATCH_SLACK_SOCKET_MODE=True)))
    try:
        settings = container.settings
        engine = container.chat_engine
        asyncio.run(run_socket_mode(engine, settings.slack, settings.chat.chat_timeout))
    finally:
        container.close()


if __name__ == "__main__":  # pragma: no cover
    main()
