"""The audit trail for staff: who changed what, when, before and after. Entries are written
by the services that make the changes (records, imports, review decisions); this reads them."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from simatch.domain.audit import ACTIONS, AuditEntry, AuditLog, AuditQuery
from simatch.errors import InvalidInput


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


class AuditService:
    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def list(
        self,
        *,
        who: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page. ``target``
        is a record key (``innovation:inn-1``), or a kind with a colon for all of that kind."""
        if action is not None and action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", {"field": "action"})
        if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
            raise InvalidInput(f"invalid cursor {cursor!r}", {"field": "cursor"})
        query = AuditQuery(
            who=who or None,
            action=action or None,
            target=target or None,
            since=since,
            until=until,
            before_id=int(cursor) if cursor else None,
            limit=limit + 1,
        )
        entries = self.log.list(query)
        more = len(entries) > limit
        entries = entries[:limit]
        return AuditPage(entries, str(entries[-1].id) if more and entries else None)

    def history(self, target: str, limit: int = 20) -> builtins.list[AuditEntry]:
        """The changes of one record (its provenance), newest first."""
        return self.log.list(AuditQuery(target=target, limit=limit))
