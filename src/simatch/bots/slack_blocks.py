"""Replies of the conversation engine as Slack Block Kit, and Slack text back to plain text."""

from __future__ import annotations

import html
import re
from typing import Any

from simatch.chat.replies import Button, Reply, encode_action

ACTION_PREFIX = "simatch."
MAX_SECTION_TEXT = 2900  # Block Kit allows 3000 characters per section text
MAX_FALLBACK = 3000

_MENTION = re.compile(r"<[@!#][^>]*>")
_LINK = re.compile(r"<(?:mailto:)?([^|>]+)(?:\|([^>]*))?>")


def plain_text(text: str) -> str:
    """Slack's message markup to what the person typed: mentions dropped, links unwrapped."""
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(html.unescape(text).split())


def escape(text: str) -> str:
    """Slack mrkdwn needs &, < and > escaped in text that is not markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(title: str, url: str | None) -> str:
    label = escape(title).replace("|", "¦")
    if url and url.startswith(("https://", "http://")):
        return f"<{url.replace('>', '%3E').replace('|', '%7C')}|{label}>"
    return label


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]}}


def _buttons(buttons: list[Button], counter: list[int]) -> dict[str, Any]:
    elements = []
    for button in buttons:
        counter[0] += 1
        element: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
            "action_id": f"{ACTION_PREFIX}{button.action}.{counter[0]}",
            "value": encode_action(button),
        }
        if button.style:
            element["style"] = button.style
        elements.append(element)
    return {"type": "actions", "elements": elements}


def blocks(reply: Reply) -> list[dict[str, Any]]:
    """At most about 30 blocks for three sections of three (Slack allows 50)."""
    counter = [0]
    out: list[dict[str, Any]] = [_section(reply.text)]
    if reply.notes:
        out.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(n)} for n in reply.notes[:10]],
            }
        )
    for section in reply.sections:
        out.append({"type": "divider"})
        out.append(_section(f"*{escape(section.heading)}* · _{escape(section.hint)}_"))
        if not section.items:
            out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": section.empty}]})
        for item in section.items:
            lines = [f"*{_link(item.title, item.url)}*", escape(item.reason)]
            if item.detail:
                lines.append(f"_{escape(item.detail)}_")
            out.append(_section("\n".join(line for line in lines if line)))
            if item.buttons:
                out.append(_buttons(item.buttons, counter))
    if reply.buttons:
        if reply.sections:
            out.append({"type": "divider"})
        out.append(_buttons(reply.buttons, counter))
    return out


def fallback_text(reply: Reply) -> str:
    """The notification text (also what screen readers and old clients show)."""
    return reply.plain()[:MAX_FALLBACK]
