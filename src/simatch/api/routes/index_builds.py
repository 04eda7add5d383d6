"""``POST /v1/index/reindex`` (rebuild the index in this server, in the background) and
``GET /v1/index/reindex`` (its state), for admins. Matches keep being answered from the
serving build; when the new build is complete the server switches to it between requests
(``simatch reindex`` does the same from the command line where the index is not held by a
running server: a Qdrant server, or the embedded index with the server stopped)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from simatch.api.auth import AdminAccess
from simatch.api.deps import BackgroundReindexDep
from simatch.api.errors import error_responses
from simatch.services import ReindexState

router = APIRouter(prefix="/v1", tags=["index"])


class ReindexReportOut(BaseModel):
    build: str = Field(description="The build that serves now.")
    previous: str = Field(description="The build it replaced (kept until the next reindex).")
    records: int
    embedded: int = Field(description="Texts the model embedded (the rest were cached).")
    caught_up: int = Field(description="Records added or changed while it copied.")
    removed: int = Field(description="Records deleted while it copied.")
    resumed: bool = Field(description="An interrupted rebuild was finished.")
    seconds: float


class ReindexOut(BaseModel):
    status: Literal["idle", "running", "ok", "failed"]
    stage: str | None = Field(
        description="waiting (for an import to finish), copy, catch up, last (writes wait)."
    )
    read: int = Field(description="Records read in the stage.")
    serving: str = Field(description="The build this server answers from.")
    started_at: datetime | None
    finished_at: datetime | None
    report: ReindexReportOut | None
    error: str | None = Field(description="Why it failed; the old build still serves.")

    @classmethod
    def of(cls, state: ReindexState, serving: str) -> ReindexOut:
        report = state.report
        return cls(
            status=state.status,
            stage=state.stage,
            read=state.read,
            serving=serving,
            started_at=state.started_at,
            finished_at=state.finished_at,
            report=ReindexReportOut(**vars(report)) if report is not None else None,
            error=state.error,
        )


@router.get(
    "/index/reindex",
    response_model=ReindexOut,
    summary="The last rebuild of the index in this server",
)
def reindex_state(_caller: AdminAccess, reindex: BackgroundReindexDep) -> ReindexOut:
    return ReindexOut.of(reindex.state(), reindex.serving.name)


@router.post(
    "/index/reindex",
    status_code=202,
    response_model=ReindexOut,
    responses=error_responses({409: "A rebuild is already running."}),
    summary="Rebuild the index with this server's model, then serve it",
)
def start_reindex(_caller: AdminAccess, reindex: BackgroundReindexDep) -> ReindexOut:
    return ReindexOut.of(reindex.start(), reindex.serving.name)
