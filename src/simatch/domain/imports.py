"""Import jobs: a file imported in the background, its progress and its report kept in a
store, so that a client can leave, come back and read where it is (``GET /v1/imports/{id}``),
and a server restart can tell what an interrupted job had committed."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal, Protocol, runtime_checkable

from simatch.domain.audit import Actor

# A staff console upload is ``staged`` (its preview shown) until staff start it: ``queued``.
JobState = Literal["staged", "queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATES: tuple[JobState, ...] = (
    "staged", "queued", "running", "succeeded", "failed", "cancelled"
)  # fmt: skip
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
    submitted_by: Actor | None = None  # who asked (the audit entry names them)
    # What the import would do, computed before it starts (``services.import_preview``'s
    # ``preview_summary``): the staff console shows it; jobs from the API have none.
    preview: dict[str, Any] | None = None
    attempts: int = 0  # runs started by a shared store's workers (1 + takeovers)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class ImportJobStore(Protocol):
    """Import jobs, newest first. Every change is one atomic write."""

    def create(
        self,
        job_id: str,
        source: str,
        format: str,
        upload: str,
        worker: str,
        actor: Actor | None = None,
        preview: dict[str, Any] | None = None,
    ) -> ImportJob:
        """A new job submitted by ``actor``: ``queued``, or ``staged`` with a ``preview``
        (it waits for ``queue``)."""
        ...

    def queue(self, job_id: str) -> ImportJob | None:
        """``staged`` -> ``queued``; None when the job is not staged."""
        ...

    def get(self, job_id: str) -> ImportJob | None: ...

    def list(self, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        """Newest first."""
        ...

    def unfinished(self) -> builtins.list[ImportJob]:
        """Jobs queued or running (oldest first; not staged): what a restart must look at."""
        ...

    def start(self, job_id: str) -> ImportJob | None:
        """``queued`` -> ``running``; None when the job is not queued (cancelled meanwhile)."""
        ...

    def progress(
        self,
        job_id: str,
        progress: dict[str, int],
        report: dict[str, Any],
        worker: str | None = None,
    ) -> bool:
        """Record a running job's progress; returns whether a cancel was requested. With
        ``worker``, only while that worker runs the job (else nothing is written and the
        answer is True: stop, another replica took the job over)."""
        ...

    def finish(
        self,
        job_id: str,
        state: JobState,
        progress: dict[str, int],
        report: dict[str, Any] | None,
        error: str | None = None,
        worker: str | None = None,
    ) -> ImportJob | None:
        """An unfinished job ends in ``state``; None when it had already finished (or, with
        ``worker``, when another worker runs it now)."""
        ...

    def request_cancel(self, job_id: str) -> ImportJob | None:
        """Ask a running job to stop (a staged or queued one is cancelled at once); None if
        unknown."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SharedImportJobs(ImportJobStore, Protocol):
    """Import jobs that any replica may run (PostgreSQL): ``create`` keeps the upload's
    bytes with the job, and a worker claims a job with a lease that it extends while it
    runs. A job whose worker died (its lease ran out) is claimed again by another and run
    from the start: an import is idempotent (records are upserts by key, unchanged ones are
    skipped by their content hash), so re-running it finishes it and does nothing twice."""

    def claim(self, worker: str, lease_seconds: float) -> ImportJob | None:
        """The oldest job that is queued, or running with an expired lease, now ``running``
        for ``worker`` (its ``worker`` field, ``attempts`` counted); None when there is
        none."""
        ...

    def extend(self, job_id: str, worker: str, lease_seconds: float) -> bool:
        """Keep running the job; False when the lease was lost (another worker has it)."""
        ...

    def fetch_upload(self, upload: str, target: IO[bytes]) -> bool:
        """Write the kept bytes of ``upload`` (a job's ``upload``) to ``target``; False when
        they are no longer kept."""
        ...

    def has_upload(self, upload: str) -> bool:
        """Whether the bytes of ``upload`` are still kept (a retry needs them)."""
        ...

    def drop_upload(self, upload: str) -> None:
        """Forget the kept bytes of ``upload`` (its job succeeded)."""
        ...
