"""POST /v1/records/import: a JSONL or CSV file, streamed into the index (curate scope).

Rows land while the upload arrives; the answer, once the file was read to the end, is the
import report: every rejected row with its line, field and reason, and near-duplicates.
"""

from __future__ import annotations

import io
import logging
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi import Query as Param
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from simatch.api.auth import CurateAccess
from simatch.api.deps import ImportServiceDep, MetricsDep
from simatch.api.errors import error_responses
from simatch.api.uploads import BodyFile
from simatch.errors import InvalidInput
from simatch.ingest.report import DuplicateFlag, IngestReport, Rejection
from simatch.services.imports import Format

log = logging.getLogger("simatch.api.records")
router = APIRouter(prefix="/v1", tags=["records"])
REPORT_LIMIT = 1000  # rejected rows and duplicates listed in an import answer

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
        return cls(
            ok=report.ok,
            read=report.read,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            embedded=report.embedded,
            rejected_count=len(report.rejected),
            rejected=report.rejected[:REPORT_LIMIT],
            duplicates=report.duplicates[:REPORT_LIMIT],
            seconds=round(report.seconds, 3),
        )


@router.post(
    "/records/import",
    response_model=ImportReport,
    openapi_extra=IMPORT_BODY,
    responses=error_responses({415: "Not one of the media types listed for the body."}),
    summary="Import a JSONL or CSV file; 200 with a report once the file was read to the end",
)
async def import_records(
    request: Request,
    caller: CurateAccess,
    service: ImportServiceDep,
    metrics: MetricsDep,
    format: Annotated[
        Literal["jsonl", "csv", "tsv"] | None,
        Param(description="The file's format; overrides the Content-Type and the file name."),
    ] = None,
    filename: Annotated[
        str | None, Param(max_length=200, description="Names the file in the report.")
    ] = None,
) -> ImportReport:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
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
        raise HTTPException(
            415,
            f"Content-Type {content_type} is not read here: send the file as JSON Lines "
            "(application/x-ndjson), text/csv, text/tab-separated-values, "
            "application/octet-stream with ?format=, or multipart/form-data (field 'file').",
        )
    for outcome in ("added", "updated", "unchanged"):
        metrics.imported_rows.labels(outcome).inc(getattr(report, outcome))
    metrics.imported_rows.labels("rejected").inc(len(report.rejected))
    return ImportReport.of(report)


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
