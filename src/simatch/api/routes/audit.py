"""GET /v1/audit: every change to the catalogue, who made it and what it was before and after
(scope admin: the trail names the staff's keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Query as Param
from pydantic import BaseModel, Field

from simatch.api.auth import AdminAccess
from simatch.api.deps import AuditServiceDep
from simatch.api.params import SEQUENCE_PATTERN, Moment, PageLimit, SequenceCursor
from simatch.domain.audit import Action, AuditEntry

router = APIRouter(prefix="/v1", tags=["audit"])


class AuditItem(BaseModel):
    id: int
    at: datetime
    who: str = Field(description="The name of the key that made the change (`cli` on the server).")
    key_id: str | None
    via: str = Field(description="Where the change came from: api, console, cli, slack, teams.")
    action: Action
    target: str = Field(description="The record's key (`kind:id`) or what else changed.")
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditItem:
        return cls(**vars(entry))


class AuditList(BaseModel):
    items: list[AuditItem]
    next_cursor: str | None = Field(
        pattern=SEQUENCE_PATTERN, description="Pass as `cursor` for the next page; null at the end."
    )


@router.get("/audit", response_model=AuditList, summary="The audit trail, newest first")
def list_audit(
    _caller: AdminAccess,
    service: AuditServiceDep,
    who: Annotated[str | None, Param(max_length=100, description="A key's name.")] = None,
    action: Action | None = None,
    target: Annotated[
        str | None,
        Param(max_length=220, description="A record key `kind:id`, or `kind:` for a whole kind."),
    ] = None,
    since: Moment = None,
    until: Moment = None,
    cursor: SequenceCursor = None,
    limit: PageLimit = 50,
) -> dict[str, Any]:
    page = service.list(
        who=who, action=action, target=target, since=since, until=until, cursor=cursor,
        limit=limit,
    )  # fmt: skip
    return {"items": [AuditItem.of(e) for e in page.items], "next_cursor": page.next_cursor}
