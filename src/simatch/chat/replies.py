"""What goes into and comes out of the conversation engine, independent of any chat platform.

Adapters translate a platform event into an :class:`Incoming` message or an
:class:`ActionEvent` (a button press), and a :class:`Reply` into Block Kit or an Adaptive
Card. Button payloads are small string dicts, encoded by :func:`encode_action`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from simatch.domain.results import Section

ActionName = Literal[
    "feedback",
    "more",
    "save_need",
    "cancel",
    "show_anyway",
    "follow",  # consent to alerts in this conversation for a saved need
    "alert_interested",  # under an alert: 👍, 👎, stop
    "alert_not_relevant",
    "alert_stop",
]
ACTIONS: tuple[str, ...] = get_args(ActionName)
ReplyKind = Literal[
    "answer",
    "more",
    "help",
    "clarify",
    "no_match",
    "consent",
    "saved",
    "feedback",
    "info",
    "error",
]


@dataclass(frozen=True)
class Incoming:
    """A message a person wrote to the assistant (mentions of the bot already removed)."""

    platform: str  # "slack", "teams", "test"
    user: str  # used only to tie a consent answer to the person asked; never stored
    conversation: str  # the thread: follow-ups in it refine the last question
    text: str
    # False for a plain reply in a channel thread the assistant answered in: people also talk
    # to each other there, so only follow-ups and answers it asked for get a reply.
    addressed: bool = True


@dataclass(frozen=True)
class ActionEvent:
    """A button pressed under one of the assistant's replies."""

    platform: str
    user: str
    conversation: str
    action: ActionName
    value: dict[str, str] = field(default_factory=dict)
    # Where this conversation can be reached later (alerts): Slack {channel, thread_ts},
    # Teams {service_url, conversation_id, tenant_id}. Only stored if the person follows a need.
    reference: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Button:
    label: str
    action: ActionName
    value: dict[str, str] = field(default_factory=dict)
    style: Literal["primary", "danger"] | None = None


@dataclass
class ItemView:
    id: str
    title: str
    url: str | None
    reason: str  # one line, in the reply's language
    detail: str | None = None  # calls: funder and deadline
    buttons: list[Button] = field(default_factory=list)


@dataclass
class SectionView:
    key: Section
    heading: str
    hint: str
    items: list[ItemView] = field(default_factory=list)
    empty: str = ""


@dataclass
class Reply:
    kind: ReplyKind
    language: str
    text: str  # light markup: *bold*, _italic_, newlines
    notes: list[str] = field(default_factory=list)
    sections: list[SectionView] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    private: bool = False  # for the actor only, where the platform can (Slack ephemeral)
    match_id: str | None = None

    def plain(self) -> str:
        """The whole reply as plain text: notification fallback, logs, tests."""
        lines = [self.text, *self.notes]
        for section in self.sections:
            lines.append(f"{section.heading}:")
            if not section.items:
                lines.append(f"  {section.empty}")
            for number, item in enumerate(section.items, start=1):
                lines.append(f"  {number}. {item.title} - {item.reason}")
                if item.detail:
                    lines.append(f"     {item.detail}")
        return "\n".join(line for line in lines if line)


def encode_action(button: Button) -> str:
    """A compact JSON string for the platform's button value (Slack allows 2000 chars)."""
    return json.dumps({"a": button.action, **button.value}, separators=(",", ":"))


def decode_action(raw: str | dict[str, Any] | None) -> tuple[ActionName, dict[str, str]] | None:
    """Inverse of :func:`encode_action`; None for anything that is not one of ours."""
    data: Any = raw
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(data, dict):
        return None
    action = data.get("a")
    if action not in ACTIONS:
        return None
    value = {str(k): str(v) for k, v in data.items() if k != "a" and isinstance(v, str | int)}
    return action, value
