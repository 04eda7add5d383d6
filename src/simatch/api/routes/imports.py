"""POST /v1/records/import: a JSONL or CSV file, streamed into the index (curate scope).

Rows land while the upload arrives; the answer, once the file was read to the end, is the
import report: every rejected row with its line, field and reason, and near-duplicates.
With ``?background=true``, or an upload larger than ``SIMATCH_IMPORT_BACKGROUND_BYTES``, the
file is kept on disk and imported by a background job: 202 with the job at once
(``routes/import_jobs.py``).
"""

from __future__ import annotations

import io
import logging
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi import Query as Param
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from simatch.api.auth import CurateAccess
from simatch.api.deps import ApiSettingsDep, ImportJobServiceDep, ImportServiceDep, MetricsDep
from simatch.api.errors import error_responses
from simatch.api.routes.import_schemas import ACCEPTED, ImportJobOut, ImportReport, location
from simatch.api.uploads import BodyFile
from simatch.domain.audit import Actor
from simatch.errors import InvalidInput
from simatch.services import ImportJobService
from simatch.services.imports import Format

log = logging.getLogger("simatch.api.records")
router = APIRouter(prefix="/v1", tags=["records"])

# The raw body's media types and the reader each one means; None: ``?format=``, else the
# ``?filename=``'s extension, else JSONL. A missing Content-Type counts as octet-stream.
_JSONL_TYPES = (
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/x-jsonlines",
)
RAW_TYPES: dict[str, str | None] = {
    **dict.fromkeys(_JSONL_TYPES, "jsonl"),
    "application/json": "jsonl",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/octet-stream": None,
    "text/plain": None,
}
# A file is any bytes (unreadable rows are reported, not refused), but not none. No
# ``type``: a raw body is not a JSON value, so no JSON type could be wrong for it.
_FILE = {"minLength": 1}
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file as the raw body (streamed: rows land while it uploads), or "
        "as the `file` field of a multipart form (spooled to a temporary file first). "
        "JSON Lines types and `application/json` are read as JSONL, `text/csv` as CSV, "
        "`text/tab-separated-values` as TSV; `?format=` overrides the type, and names the "
        "format of `application/octet-stream` and `text/plain` bodies (default: from "
        "`?filename=`'s extension, else JSONL). An empty file is a 422.",
        "content": {
            **{media: {"schema": _FILE} for media in RAW_TYPES if media != "application/json"},
            # JSON as sent by a JSON client is one JSON value: a one-line JSONL file.
            "application/json": {"schema": {}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
                    "required": ["file"],
                },
                "encoding": {"file": {"contentType": "application/octet-stream"}},
            },
        },
    }
}


@router.post(
    "/records/import",
    response_model=ImportReport,
    openapi_extra=IMPORT_BODY,
    responses={
        **error_responses({415: "Not one of the media types listed for the body."}),
        **ACCEPTED,
    },
    summary="Import a JSONL or CSV file; 200 with a report once the file was read to the end, "
    "or 202 with a background job",
)
async def import_records(
    request: Request,
    caller: CurateAccess,
    service: ImportServiceDep,
    jobs: ImportJobServiceDep,
    settings: ApiSettingsDep,
    metrics: MetricsDep,
    format: Annotated[
        Literal["jsonl", "csv", "tsv"] | None,
        Param(description="The file's format; overrides the Content-Type and the file name."),
    ] = None,
    filename: Annotated[
        str | None, Param(max_length=200, description="Names the file in the report.")
    ] = None,
    background: Annotated[
        bool | None,
        Param(
            description="true: import in the background (202 with the job at once); false: "
            "answer with the report; default: in the background when the upload is larger "
            "than the server's SIMATCH_IMPORT_BACKGROUND_BYTES."
        ),
    ] = None,
) -> ImportReport | JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if background is None:
        length = request.headers.get("content-length", "")
        background = length.isdigit() and int(length) > settings.import_background_bytes
    if background:
        return await _in_background(request, jobs, content_type, format, filename, caller.actor)
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("The form needs a 'file' field.", {"field": "file"})
            if not upload.size:
                raise InvalidInput("The uploaded file is empty.", {"field": "file"})
            name = upload.filename or filename or "upload"
            fmt, source = _format(format, None, name)
            file = upload.file
            report = await anyio.to_thread.run_sync(
                service.import_stream, file, source, fmt, caller.actor
            )
    elif content_type in RAW_TYPES or not content_type:
        fmt, source = _format(format, RAW_TYPES.get(content_type), filename)
        raw = BodyFile(request.stream())
        body = io.BufferedReader(raw, buffer_size=65536)
        try:
            report = await anyio.to_thread.run_sync(
                service.import_stream, body, source, fmt, caller.actor
            )
        except ClientDisconnect:
            log.info("import interrupted by the client; the rows before that landed")
            raise HTTPException(400, "The upload was interrupted.") from None
        if report.read == 0 and raw.bytes_read == 0:
            raise InvalidInput("The upload is empty.", {"field": "body"})
    else:
        raise _unsupported(content_type)
    for outcome in ("added", "updated", "unchanged"):
        metrics.imported_rows.labels(outcome).inc(getattr(report, outcome))
    metrics.imported_rows.labels("rejected").inc(len(report.rejected))
    return ImportReport.of(report)


async def _in_background(
    request: Request,
    jobs: ImportJobService,
    content_type: str,
    given: str | None,
    filename: str | None,
    actor: Actor,
) -> JSONResponse:
    """Keep the whole upload on disk first (the job must not depend on the client staying),
    then queue the job and answer 202."""
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("The form needs a 'file' field.", {"field": "file"})
            if not upload.size:
                raise InvalidInput("The uploaded file is empty.", {"field": "file"})
            fmt, source = _format(given, None, upload.filename or filename or "upload")
            job = await anyio.to_thread.run_sync(
                jobs.submit_stream, upload.file, source, fmt, actor
            )
    elif content_type in RAW_TYPES or not content_type:
        fmt, source = _format(given, RAW_TYPES.get(content_type), filename)
        path = jobs.upload_path()
        size = 0
        try:
            with path.open("wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    await anyio.to_thread.run_sync(out.write, chunk)
        except ClientDisconnect:
            path.unlink(missing_ok=True)
            log.info("background upload interrupted by the client; no job was started")
            raise HTTPException(400, "The upload was interrupted.") from None
        if size == 0:
            path.unlink(missing_ok=True)
            raise InvalidInput("The upload is empty.", {"field": "body"})
        job = await anyio.to_thread.run_sync(jobs.submit, path, source, fmt, actor)
    else:
        raise _unsupported(content_type)
    return JSONResponse(
        ImportJobOut.of(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": location(job)},
    )


def _unsupported(content_type: str) -> HTTPException:
    return HTTPException(
        415,
        f"Content-Type {content_type} is not read here: send the file as JSON Lines "
        "(application/x-ndjson), text/csv, text/tab-separated-values, "
        "application/octet-stream with ?format=, or multipart/form-data (field 'file').",
    )


def _format(given: str | None, from_type: str | None, name: str | None) -> tuple[Format, str]:
    """The reader's format and a source name (a ``.tsv`` name makes the CSV reader use tabs)."""
    choice = given or from_type
    if choice is None and name:
        lower = name.lower()
        choice = "tsv" if lower.endswith(".tsv") else "csv" if lower.endswith(".csv") else None
    choice = choice or "jsonl"
    source = name or f"upload.{choice}"
    if choice == "tsv" and not source.lower().endswith(".tsv"):
        source += ".tsv"
    return ("jsonl" if choice == "jsonl" else "csv"), source
