"""The audit trail: every change to the catalogue (create, edit, delete, import, review
decision), with who made it (the key's name), when, through what, and the record before and
after. Written by the services, so a change through the API, the console or the CLI is
audited alike; read by staff in the console and through ``GET /v1/audit``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

Action = Literal["create", "update", "delete", "import", "review"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "import", "review")


@dataclass(frozen=True)
class Actor:
    """Who made a change: the key's name and id (none for the CLI run on the server) and the
    transport it came through (api, console, cli, chat)."""

    name: str
    via: str
    key_id: str | None = None


CLI_ACTOR = Actor(name="cli", via="cli")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    who: str
    key_id: str | None
    via: str
    action: Action
    target: str  # a record key "kind:id", an import's source name, a reviewed pair
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AuditQuery:
    """All given conditions hold; ``before_id`` pages backwards (newest first)."""

    who: str | None = None
    action: Action | None = None
    target: str | None = None  # exact, or a prefix ending with ":" ("innovation:")
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 50


class AuditLog(Protocol):
    def append(
        self,
        actor: Actor,
        action: Action,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> AuditEntry: ...

    def list(self, query: AuditQuery) -> list[AuditEntry]:
        """Newest first."""
        ...

    def close(self) -> None: ...
