"""Chat platform adapters: Slack (Bolt) and Teams (Microsoft 365 Agents SDK).

``mount_bots(app, container)`` adds ``POST /slack/events`` and ``POST /api/messages`` to the
simatch FastAPI app, each only when its platform is configured. Both share one conversation
engine, so a thread's state and the gap log are the same whichever way a message came.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import ValidationError

from simatch.config import ChatSettings, SlackSettings, TeamsSettings
from simatch.errors import ConfigError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from simatch.chat.engine import Engine
    from simatch.wiring import Container

log = logging.getLogger(__name__)


def chat_engine(container: Container, chat: ChatSettings | None = None) -> Engine:
    from simatch.chat import build_engine
    from simatch.chat.catalogue import Catalogue
    from simatch.chat.state import ConversationStore

    chat = chat or ChatSettings()
    return build_engine(
        container,
        catalogue=Catalogue.load(chat.chat_language),
        store=ConversationStore(chat.chat_memory_hours * 3600, chat.chat_max_threads),
    )


def mount_bots(
    app: FastAPI,
    container: Container,
    slack: SlackSettings | None = None,
    teams: TeamsSettings | None = None,
    chat: ChatSettings | None = None,
) -> list[str]:
    """Mount the configured bots; returns the paths added (none without settings).

    The engine is kept as ``app.state.chat_engine`` (staff reach the gap log through it).
    """
    try:
        slack = slack or SlackSettings()
        teams = teams or TeamsSettings()
        chat = chat or ChatSettings()
    except ValidationError as exc:
        raise ConfigError(f"Invalid chat settings:\n{exc}") from exc
    if not slack.http and not teams.enabled:
        if slack.enabled:
            log.info("Slack uses Socket Mode: run `python -m simatch.bots.slack` beside the API.")
        return []
    engine = chat_engine(container, chat)
    app.state.chat_engine = engine
    paths: list[str] = []
    if slack.http:
        from simatch.bots.slack import EVENTS_PATH, SlackBot

        SlackBot(engine, slack, chat.chat_timeout).mount(app)
        paths.append(EVENTS_PATH)
    if teams.enabled:
        from simatch.bots import teams as teams_bot

        teams_bot.mount(app, engine, teams, chat.chat_timeout)
        paths.append(teams_bot.MESSAGES_PATH)
    log.info("chat assistant mounted at %s", ", ".join(paths))
    return paths
