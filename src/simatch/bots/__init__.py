"""Chat platform adapters: Slack (Bolt) and Teams (Microsoft 365 Agents SDK), translating
platform events to the chat engine and its replies back; ``mount_bots`` adds their routes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from simatch.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from simatch.chat.engine import Engine

log = logging.getLogger(__name__)


def mount_bots(app: FastAPI, settings: Settings, engine: Callable[[], Engine]) -> list[str]:
    """Add ``POST /slack/events`` and ``POST /api/messages``, each only when its platform is
    configured; returns the paths added. Both share one engine (``engine()`` is called only
    when a bot is mounted), so a thread's state is the same whichever way a message came.

    The engine is kept as ``app.state.chat_engine``.
    """
    slack, teams, chat = settings.slack, settings.teams, settings.chat
    if not slack.http and not teams.enabled:
        if slack.enabled:
            log.info("Slack uses Socket Mode: run `python -m simatch.bots.slack` beside the API.")
        return []
    built = engine()
    app.state.chat_engine = built
    paths: list[str] = []
    if slack.http:
        from simatch.bots.slack import EVENTS_PATH, SlackBot

        SlackBot(built, slack, chat.chat_timeout).mount(app)
        paths.append(EVENTS_PATH)
    if teams.enabled:
        from simatch.bots import teams as teams_bot

        teams_bot.mount(app, built, teams, chat.chat_timeout)
        paths.append(teams_bot.MESSAGES_PATH)
    log.info("chat assistant mounted at %s", ", ".join(paths))
    return paths
