"""The audit trail: who changed what and when, with what changed, filtered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from simatch.api.deps import AuditServiceDep
from simatch.console.security import PREFIX, SessionDep
from simatch.console.web import render
from simatch.domain.audit import ACTIONS, AuditEntry
from simatch.errors import InvalidInput

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Short = Annotated[str | None, Query(max_length=220)]


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    audit: AuditServiceDep,
    who: Short = None,
    action: Short = None,
    target: Short = None,
    cursor: Short = None,
) -> Response:
    chosen = action if action in ACTIONS else None
    try:
        page = audit.list(who=who, action=chosen, target=target, cursor=cursor, limit=50)
    except InvalidInput:
        page = audit.list(who=who, action=chosen, target=target, limit=50)
    rows = [(entry, changes(entry)) for entry in page.items]
    filters = {"who": who, "action": chosen, "target": target}
    return render(
        request, "audit.html", session, section="audit", rows=rows, filters=filters,
        actions=ACTIONS, next_cursor=page.next_cursor,
    )  # fmt: skip


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field that differs."""
    before, after = entry.before or {}, entry.after or {}
    names = sorted(set(before) | set(after))
    return [(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]
