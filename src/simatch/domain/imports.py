"""Import jobs: a file imported in the background, its progress and its report kept in a
store, so that a client can leave, come back and read where it is (``GET /v1/imports/{id}``),
and a server restart can tell what an interrupted job had committed."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED: tuple[JobState, ...] = ("succeeded", "failed", "cancelled")
# Counters of a job's progress: rows read, documents embedded, records indexed (added or
# updated), unchanged (skipped by their content hash) and rejected rows.
PROGRESS_FIELDS = ("read", "embedded", "added", "updated", "unchanged", "rejected")


@dataclass(frozen=True)
class ImportJob:
    id: str
    source: str  # the file's name, as the report names it
    format: str  # jsonl or csv
    state: JobState
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: dict[str, int] = field(default_factory=dict)
    # The import report so far (``ImportReport`` of the API as JSON): rejected rows and
    # near-duplicates while it runs, the final report once it finished.
    report: dict[str, Any] | None = None
    error: str | None = None
    cancel_requested: bool = False
    worker: str | None = None  # "host:pid" of the process that runs it
    upload: str = ""  # where the uploaded file waits (under the data directory)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class ImportJobStore(Protocol):
    """Import jobs, newest first. Every change is one atomic write."""

    def create(self, job_id: str, source: str, format: str, upload: str, worker: str) -> ImportJob:
        """A new job, ``queued``."""
        ...

    def get(self, job_id: str) -> ImportJob | None: ...

    def list(self, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        """Newest first."""
        ...

    def unfinished(self) -> builtins.list[ImportJob]:
        """Jobs queued or running (oldest first): what a restart must look at."""
        ...

    def start(self, job_id: str) -> ImportJob | None:
        """``queued`` -> ``running``; None when the job is not queued (cancelled meanwhile)."""
        ...

    def progress(self, job_id: str, progress: dict[str, int], report: dict[str, Any]) -> bool:
        """Record a running job's progress; returns whether a cancel was requested."""
        ...

    def finish(
        self,
        job_id: str,
        state: JobState,
        progress: dict[str, int],
        report: dict[str, Any] | None,
        error: str | None = None,
    ) -> ImportJob | None:
        """An unfinished job ends in ``state``; None when it had already finished."""
        ...

    def request_cancel(self, job_id: str) -> ImportJob | None:
        """Ask a running job to stop (a queued one is cancelled at once); None if unknown."""
        ...

    def close(self) -> None: ...
