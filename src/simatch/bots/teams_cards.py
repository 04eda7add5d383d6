"""Replies of the conversation engine as Teams messages: Adaptive Cards with Action.Submit."""

from __future__ import annotations

import re
from typing import Any

from simatch.chat.replies import Button, Reply, encode_action

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"  # what Teams renders on every client
DATA_KEY = "simatch"  # Action.Submit data: {"simatch": "<encoded action>"}

_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")


def markdown(text: str) -> str:
    """The catalogue's light markup (Slack style, ``*bold*``) as Teams markdown."""
    return _BOLD.sub(r"**\1**", text)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _submit(button: Button) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": button.label,
        "data": {DATA_KEY: encode_action(button)},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def _link(title: str, url: str | None) -> str:
    safe = title.replace("[", "(").replace("]", ")")
    if url and url.startswith(("https://", "http://")):
        return f"[{safe}]({url.replace(')', '%29').replace(' ', '%20')})"
    return safe


def card(reply: Reply) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_text(markdown(p)) for p in reply.text.split("\n") if p.strip()]
    for note in reply.notes:
        body.append(_text(note, isSubtle=True, size="Small", spacing="Small"))
    for section in reply.sections:
        body.append(
            _text(
                f"**{section.heading}** · _{section.hint}_",
                size="Medium",
                separator=True,
                spacing="Medium",
            )
        )
        if not section.items:
            body.append(_text(section.empty, isSubtle=True))
        for item in section.items:
            parts: list[dict[str, Any]] = [
                _text(_link(item.title, item.url), weight="Bolder"),
                _text(item.reason, isSubtle=True, spacing="None"),
            ]
            if item.detail:
                parts.append(_text(item.detail, spacing="None", color="Attention"))
            if item.buttons:
                parts.append({"type": "ActionSet", "actions": [_submit(b) for b in item.buttons]})
            body.append({"type": "Container", "items": parts, "spacing": "Small"})
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if reply.buttons:
        content["actions"] = [_submit(b) for b in reply.buttons]
    return content


def needs_card(reply: Reply) -> bool:
    """Plain answers (help, thanks, a clarifying question) read better as text."""
    return bool(reply.sections or reply.buttons)


def submitted_action(value: Any) -> Any:
    """The encoded action of a pressed Action.Submit, or None."""
    if isinstance(value, dict):
        return value.get(DATA_KEY)
    return None
