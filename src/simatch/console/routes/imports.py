"""Importing a file: upload, a preview before anything is written, then the import as a
background job (the same jobs as ``/v1/imports``: kept in the state store, so the page and
its progress bar are the same on every replica and after a restart) with a progress bar
(htmx polls it; without JavaScript the page is reloaded by hand), and its report afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from simatch.api.deps import ImportJobServiceDep
from simatch.console.routes.records import actor
from simatch.console.security import PREFIX, CheckedForm, SessionDep, harden
from simatch.console.web import render
from simatch.domain.imports import ImportJob
from simatch.errors import NotFound
from simatch.services.import_preview import SHOWN

router = APIRouter(prefix=f"{PREFIX}/import", include_in_schema=False)


@dataclass(frozen=True)
class Run:
    """An import job as the console's pages show it."""

    id: str
    source: str
    who: str
    state: str
    preview: dict[str, Any]  # empty for a job submitted through the API
    done_rows: int
    total: int
    report: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, job: ImportJob) -> Run:
        preview = job.preview or {}
        p = job.progress
        # Rows done: written, skipped as unchanged, or rejected (read is ahead of them).
        done = sum(int(p.get(k, 0)) for k in ("added", "updated", "unchanged", "rejected"))
        total = int(preview.get("read", p.get("read", 0)))
        return cls(
            id=job.id,
            source=job.source,
            who=job.submitted_by.name if job.submitted_by else "",
            state=job.state,
            preview=preview,
            done_rows=min(done, total) if total else done,
            total=total,
            report=job.report if job.finished else None,
            error=job.error,
        )

    @property
    def polling(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def percent(self) -> int:
        if self.state == "succeeded":
            return 100
        return min(99, int(100 * self.done_rows / self.total)) if self.total else 0


@router.get("")
def import_page(request: Request, session: SessionDep, jobs: ImportJobServiceDep) -> Response:
    return render(request, "import.html", session, section="import",
                  runs=[Run.of(j) for j in jobs.list()], error="")  # fmt: skip


@router.post("")
def upload(
    request: Request, session: SessionDep, form: CheckedForm, jobs: ImportJobServiceDep
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
        return render(request, "import.html", session, 422, section="import",
                      runs=[Run.of(j) for j in jobs.list()],
                      error="console_import_no_file")  # fmt: skip
    job = jobs.stage(upload.file, upload.filename, actor(session))
    return harden(RedirectResponse(f"{PREFIX}/import/{job.id}", status_code=303))


@router.get("/{run_id}")
def run_page(
    request: Request, run_id: str, session: SessionDep, jobs: ImportJobServiceDep
) -> Response:
    try:
        run = Run.of(jobs.get(run_id))
    except NotFound:
        return render(request, "error.html", session, 404, message="console_error_not_found")
    template = "import_progress.html" if request.headers.get("hx-request") else "import_run.html"
    return render(request, template, session, section="import", run=run, shown=SHOWN)


@router.post("/{run_id}/start")
def start(
    session: SessionDep, run_id: str, _form: CheckedForm, jobs: ImportJobServiceDep
) -> Response:
    jobs.confirm(run_id)
    return harden(RedirectResponse(f"{PREFIX}/import/{run_id}", status_code=303))


@router.post("/{run_id}/discard")
def discard(
    run_id: str, _session: SessionDep, _form: CheckedForm, jobs: ImportJobServiceDep
) -> Response:
    if jobs.get(run_id).state == "staged":  # a started import is not discarded here
        jobs.cancel(run_id)
    return harden(RedirectResponse(f"{PREFIX}/import", status_code=303))
