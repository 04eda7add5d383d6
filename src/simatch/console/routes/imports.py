"""Importing a file: upload, a preview before anything is written, then the import in the
background with a progress bar (htmx polls it; without JavaScript the page is reloaded by
hand), and its report afterwards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from simatch.api.deps import ImportRunsDep
from simatch.console.routes.records import actor
from simatch.console.security import PREFIX, CheckedForm, SessionDep, harden
from simatch.console.web import render
from simatch.errors import NotFound

router = APIRouter(prefix=f"{PREFIX}/import", include_in_schema=False)
SHOWN = 200  # rejected rows and suspects listed on a page


@router.get("")
def import_page(request: Request, session: SessionDep, runs: ImportRunsDep) -> Response:
    return render(request, "import.html", session, section="import", runs=runs.recent(),
                  error="")  # fmt: skip


@router.post("")
def upload(
    request: Request, session: SessionDep, form: CheckedForm, runs: ImportRunsDep
) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename or not upload.size:
        return render(request, "import.html", session, 422, section="import",
                      runs=runs.recent(), error="console_import_no_file")  # fmt: skip
    run = runs.stage(upload.file, upload.filename, session.key_name)
    return harden(RedirectResponse(f"{PREFIX}/import/{run.id}", status_code=303))


@router.get("/{run_id}")
def run_page(request: Request, run_id: str, session: SessionDep, runs: ImportRunsDep) -> Response:
    try:
        run = runs.get(run_id)
    except NotFound:
        return render(request, "error.html", session, 404, message="console_error_not_found")
    template = "import_progress.html" if request.headers.get("hx-request") else "import_run.html"
    return render(request, template, session, section="import", run=run, shown=SHOWN)


@router.post("/{run_id}/start")
def start(session: SessionDep, run_id: str, _form: CheckedForm, runs: ImportRunsDep) -> Response:
    runs.start(run_id, actor(session))
    return harden(RedirectResponse(f"{PREFIX}/import/{run_id}", status_code=303))


@router.post("/{run_id}/discard")
def discard(run_id: str, _session: SessionDep, _form: CheckedForm, runs: ImportRunsDep) -> Response:
    runs.discard(run_id)
    return harden(RedirectResponse(f"{PREFIX}/import", status_code=303))
