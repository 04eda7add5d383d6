"""The Teams app: Microsoft 365 Agents SDK in front of the conversation engine.

``POST /api/messages`` inside the simatch FastAPI app. Personal chats and @-mentions in
channels and group chats; answers are Adaptive Cards whose Action.Submit buttons come back
as message activities with a ``value``. Every request must carry a valid Bot Framework JWT,
unless ``SIMATCH_TEAMS_ALLOW_ANONYMOUS=true`` (development only, warned about at start). The
JWT check is the SDK's decorator on this route only, never app-wide middleware, so the Slack
route and the API are untouched.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from microsoft_agents.activity import Activity, Attachment, ChannelAccount, TurnContextProtocol
from microsoft_agents.hosting.core import ActivityHandler, MessageFactory, TurnContext
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AnonymousTokenProvider,
)
from microsoft_agents.hosting.core.authorization.connection_manager import ConnectionManager
from microsoft_agents.hosting.fastapi import CloudAdapter, jwt_authorization_decorator

from simatch.bots.bounded import run_bounded
from simatch.bots.teams_cards import (
    CARD_CONTENT_TYPE,
    card,
    markdown,
    needs_card,
    submitted_action,
)
from simatch.chat.engine import Engine
from simatch.chat.replies import ActionEvent, Incoming, Reply, decode_action
from simatch.config import TeamsSettings

log = logging.getLogger(__name__)
PLATFORM = "teams"
MESSAGES_PATH = "/api/messages"
MSAL_MODULE = "microsoft_agents.authentication.msal"
T = TypeVar("T")


def to_activity(reply: Reply) -> Activity:
    if needs_card(reply):
        attachment = Attachment(content_type=CARD_CONTENT_TYPE, content=card(reply))
        message: Activity = MessageFactory.attachment(attachment)
        return message
    activity = MessageFactory.text(markdown(reply.text).replace("\n", "\n\n"))
    activity.text_format = "markdown"
    return activity


class SimatchAgent(ActivityHandler):  # type: ignore[misc]
    def __init__(self, engine: Engine, timeout: float = 10.0) -> None:
        super().__init__()
        self.engine = engine
        self.timeout = timeout

    async def on_message_activity(self, turn_context: TurnContextProtocol[Any]) -> None:
        activity = turn_context.activity
        key = f"{PLATFORM}:{activity.conversation.id}"
        sender = activity.from_property
        user = str((sender.aad_object_id or sender.id) if sender else "")
        decoded = decode_action(submitted_action(activity.value))
        if decoded is not None:
            tenant = (activity.conversation.tenant_id or "") if activity.conversation else ""
            reference = {
                "service_url": str(activity.service_url or ""),
                "conversation_id": str(activity.conversation.id),
                "tenant_id": str(tenant),
            }
            event = ActionEvent(PLATFORM, user, key, *decoded, reference=reference)
            reply = await self._run(self.engine.act, event)
        else:
            text = activity.remove_recipient_mention() if activity.text else ""
            text = " ".join((text or "").split())
            reply = await self._run(self.engine.handle, Incoming(PLATFORM, user, key, text), text)
        if reply is not None:
            await turn_context.send_activity(to_activity(reply))

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContextProtocol[Any]
    ) -> None:
        # Installing the app in personal scope adds the bot itself: greet then, too. In
        # channels and group chats a greeting for every new member would be noise.
        personal = turn_context.activity.conversation.conversation_type in (None, "personal")
        if personal and members_added:
            await turn_context.send_activity(to_activity(self.engine.welcome()))

    async def _run(self, func: Callable[[T], Reply | None], arg: T, text: str = "") -> Reply | None:
        return await run_bounded(self.engine, func, arg, text, self.timeout)


def auth_configuration(settings: TeamsSettings) -> AgentAuthConfiguration:
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    return AgentAuthConfiguration(
        client_id=settings.client_id,
        tenant_id=settings.tenant_id,
        client_secret=secret,
        anonymous_allowed=settings.allow_anonymous,
    )


def connections(settings: TeamsSettings, config: AgentAuthConfiguration) -> ConnectionManager:
    """Tokens for the replies: MSAL with an app registration, none in anonymous mode."""
    factory: Callable[[AgentAuthConfiguration], Any]
    if settings.client_id and settings.client_secret is not None:
        try:
            factory = importlib.import_module(MSAL_MODULE).MsalAuth
        except ImportError:
            log.error(
                "Teams: a client id is configured but %s is not installed; replies to Teams "
                "will fail until `pip install microsoft-agents-authentication-msal`.",
                MSAL_MODULE,
            )
            factory = _MissingMsal
    else:
        factory = _anonymous_provider
    return ConnectionManager(factory, connections_configurations={"SERVICE_CONNECTION": config})


def mount(app: FastAPI, engine: Engine, settings: TeamsSettings, timeout: float = 10.0) -> None:
    config = auth_configuration(settings)
    if settings.allow_anonymous:
        log.warning(
            "SIMATCH_TEAMS_ALLOW_ANONYMOUS=true: %s accepts requests without a Bot Framework "
            "token. Use this for local development only.",
            MESSAGES_PATH,
        )
    # The SDK's decorator reads the configuration from the app's state.
    app.state.agent_configuration = config
    adapter = CloudAdapter(connection_manager=connections(settings, config))
    agent = SimatchAgent(engine, timeout)

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)
        await context.send_activity(to_activity(engine.apology(context.activity.text or "")))

    adapter.on_turn_error = on_turn_error

    @jwt_authorization_decorator  # type: ignore[untyped-decorator]
    async def teams_messages(request: Request) -> Response:
        response = await adapter.process(request, agent)
        return response or Response(status_code=202)

    app.add_api_route(MESSAGES_PATH, teams_messages, methods=["POST"], include_in_schema=False)


BOT_FRAMEWORK = "https://api.botframework.com"


def proactive_token(settings: TeamsSettings) -> Callable[[], str | None]:
    """A bearer token for messages the bot starts itself (alerts), from the app
    registration; None in anonymous mode, where the local connector needs none."""
    if not (settings.client_id and settings.client_secret is not None):
        return lambda: None
    auth = importlib.import_module(MSAL_MODULE).MsalAuth(auth_configuration(settings))

    def token() -> str | None:
        found = asyncio.run(auth.get_access_token(BOT_FRAMEWORK, [f"{BOT_FRAMEWORK}/.default"]))
        return str(found) if found else None

    return token


def _anonymous_provider(config: AgentAuthConfiguration) -> AnonymousTokenProvider:
    return AnonymousTokenProvider()


class _MissingMsal(AnonymousTokenProvider):  # type: ignore[misc]
    def __init__(self, config: AgentAuthConfiguration) -> None:
        super().__init__()

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        raise RuntimeError(f"{MSAL_MODULE} is not installed: cannot get a token for Teams")


__all__ = ["SimatchAgent", "mount", "proactive_token", "to_activity"]
