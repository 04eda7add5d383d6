"""GET /v1/sources (each source's last sync) and POST /v1/sources/sync (start one now), for
staff (scope curate). The sync runs in the background; poll GET /v1/sources for its result.
Which calls a source takes (its profile) is edited with ``simatch sources profile``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi import Query as Param
from pydantic import BaseModel, Field

from simatch.api.auth import CurateAccess
from simatch.api.deps import SyncSchedulerDep, SyncServiceDep
from simatch.api.errors import error_responses
from simatch.domain.sources import SyncRun

router = APIRouter(prefix="/v1", tags=["sources"])

SourceName = Annotated[str, Param(pattern=r"^[a-z0-9-]{1,40}$", description="eu-ft, haeavustuksia")]


class SyncCountsOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    withdrawn: int
    rejected: int = Field(description="Bad items, each listed in rejections.")
    skipped: int = Field(description="Closed items the source listed (not imported).")
    duplicates: int = Field(description="Items the source repeated on a later page.")
    embedded: int = Field(description="Texts sent to the embedding model.")


class Rejected(BaseModel):
    id: str = Field(description="The item's id at the source.")
    field: str | None
    reason: str


class SyncOut(BaseModel):
    status: Literal["running", "ok", "failed", "interrupted"]
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    counts: SyncCountsOut
    error: str | None = Field(description="Why it failed; nothing is withdrawn then.")
    rejections: list[Rejected] = Field(description="The first 200 bad items.")


class SourceOut(BaseModel):
    name: str
    title: str
    calls: int = Field(description="Calls it brought in that it still offers.")
    withdrawn: int = Field(description="Calls it stopped offering (kept, never matched).")
    profile_edited: bool = Field(description="Staff changed which calls it takes.")
    syncing: bool
    last_sync: SyncOut | None


class SourceList(BaseModel):
    items: list[SourceOut]


class SyncStarted(BaseModel):
    accepted: list[str] = Field(description="The sources that will be synced, in this order.")


def _run(run: SyncRun | None) -> dict[str, Any] | None:
    return run.as_dict() if run is not None else None


@router.get("/sources", response_model=SourceList, summary="Sources and their last sync")
def list_sources(
    _caller: CurateAccess, service: SyncServiceDep, scheduler: SyncSchedulerDep
) -> dict[str, Any]:
    running = set(scheduler.running)
    return {
        "items": [
            {
                "name": s.name,
                "title": s.title,
                "calls": s.items,
                "withdrawn": s.withdrawn,
                "profile_edited": s.profile_edited,
                "syncing": s.name in running,
                "last_sync": _run(s.last_run),
            }
            for s in service.status()
        ]
    }


@router.post(
    "/sources/sync",
    response_model=SyncStarted,
    status_code=202,
    summary="Sync now, in the background",
    responses=error_responses(
        {404: "No source with this name.", 409: "A sync is already running."}
    ),
)
def start_sync(
    _caller: CurateAccess,
    scheduler: SyncSchedulerDep,
    source: Annotated[
        list[SourceName] | None, Param(description="Sources to sync (repeatable); all if none.")
    ] = None,
) -> dict[str, Any]:
    return {"accepted": scheduler.request(source or [])}
