"""The answers of the import routes: the import report and background jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from simatch.domain.imports import ImportJob, JobState
from simatch.ingest.report import (
    REPORT_LIMIT,
    DuplicateFlag,
    IngestReport,
    Rejection,
    report_summary,
)


class ImportReport(BaseModel):
    ok: bool = Field(description="True when no row was rejected.")
    read: int
    added: int
    updated: int
    unchanged: int
    embedded: int
    rejected_count: int
    rejected: list[Rejection] = Field(description=f"The first {REPORT_LIMIT} rejected rows.")
    duplicates: list[DuplicateFlag] = Field(description="Near-duplicates flagged for staff.")
    seconds: float

    @classmethod
    def of(cls, report: IngestReport) -> ImportReport:
        return cls.model_validate(report_summary(report, REPORT_LIMIT))


class ImportProgress(BaseModel):
    read: int = Field(description="Rows read from the file so far.")
    embedded: int = Field(description="Records embedded by the model (not from the cache).")
    indexed: int = Field(description="Records written to the index (added + updated).")
    added: int
    updated: int
    unchanged: int = Field(description="Records skipped: already indexed with this content.")
    rejected: int = Field(description="Rows rejected (the report says why).")


class ImportJobOut(BaseModel):
    id: str
    state: JobState = Field(
        description="queued, running, then succeeded (rejected rows included: see the "
        "report's `ok`), failed (`error` says why; what was indexed stays) or cancelled; "
        "staged: a staff console upload waiting for its preview to be confirmed."
    )
    source: str = Field(description="The file's name, as the report names it.")
    format: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ImportProgress
    report: ImportReport | None = Field(
        description="The import report so far while it runs; the final one when it finished."
    )
    error: str | None
    cancel_requested: bool

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobOut:
        p: dict[str, Any] = {k: int(job.progress.get(k, 0)) for k in _COUNTERS}
        return cls(
            id=job.id,
            state=job.state,
            source=job.source,
            format=job.format,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            progress=ImportProgress(indexed=p["added"] + p["updated"], **p),
            report=ImportReport.model_validate(job.report) if job.report else None,
            error=job.error,
            cancel_requested=job.cancel_requested,
        )


_COUNTERS = ("read", "embedded", "added", "updated", "unchanged", "rejected")


class ImportJobList(BaseModel):
    items: list[ImportJobOut]


def location(job: ImportJob) -> str:
    return f"/v1/imports/{job.id}"


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ImportJobOut,
        "description": "The import runs in the background: poll the `Location`.",
        "headers": {
            "Location": {
                "description": "The job: `/v1/imports/{id}`.",
                "schema": {"type": "string"},
            }
        },
    }
}
