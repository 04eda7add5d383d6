"""Background imports: ``GET /v1/imports``, ``GET /v1/imports/{id}``, cancel and retry (curate
scope). A job is started by ``POST /v1/records/import?background=true`` (or a large upload),
which answers 202 with the job and its ``Location``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi import Query as Param

from simatch.api.auth import CurateAccess
from simatch.api.deps import ImportJobServiceDep
from simatch.api.errors import error_responses
from simatch.api.routes.import_schemas import ACCEPTED, ImportJobList, ImportJobOut, location

router = APIRouter(prefix="/v1", tags=["records"])

JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
JobIdPath = Annotated[
    str, Path(pattern=JOB_ID_PATTERN, description="The import's id, as its 202 answer gave it.")
]


@router.get("/imports", response_model=ImportJobList, summary="Background imports, newest first")
def list_imports(
    _caller: CurateAccess,
    service: ImportJobServiceDep,
    limit: Annotated[int, Param(ge=1, le=200)] = 50,
    offset: Annotated[int, Param(ge=0, le=1_000_000)] = 0,
) -> ImportJobList:
    return ImportJobList(items=[ImportJobOut.of(j) for j in service.list(limit, offset)])


@router.get(
    "/imports/{job_id}",
    response_model=ImportJobOut,
    responses=error_responses({404: "No import with this id."}),
    summary="One background import: state, progress and report",
)
def get_import(
    job_id: JobIdPath, _caller: CurateAccess, service: ImportJobServiceDep
) -> ImportJobOut:
    return ImportJobOut.of(service.get(job_id))


@router.post(
    "/imports/{job_id}/cancel",
    response_model=ImportJobOut,
    responses=error_responses({404: "No import with this id."}),
    summary="Cancel an import: it stops reading; what was indexed stays",
)
def cancel_import(
    job_id: JobIdPath, _caller: CurateAccess, service: ImportJobServiceDep
) -> ImportJobOut:
    return ImportJobOut.of(service.cancel(job_id))


@router.post(
    "/imports/{job_id}/retry",
    status_code=202,
    response_model=ImportJobOut,
    responses={
        **error_responses(
            {404: "No import with this id.", 409: "It has not finished, or its file is gone."}
        ),
        202: {k: v for k, v in ACCEPTED[202].items() if k != "model"},
    },
    summary="Run a failed or cancelled import again (records already indexed are skipped)",
)
def retry_import(
    job_id: JobIdPath, caller: CurateAccess, service: ImportJobServiceDep, response: Response
) -> ImportJobOut:
    job = service.retry(job_id, caller.actor)
    response.headers["Location"] = location(job)
    return ImportJobOut.of(job)
