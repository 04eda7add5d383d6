"""Records: list, read, put, delete, and import JSONL or CSV files (curate scope to change)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Body, Path, Request, Response
from fastapi import Query as Param
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from simatch.api.auth import CurateAccess, MatchAccess
from simatch.api.deps import ContainerDep, MetricsDep
from simatch.api.errors import ERROR_RESPONSES, ErrorResponse
from simatch.api.uploads import buffered
from simatch.domain.records import AnyRecord, Kind
from simatch.errors import InvalidInput
from simatch.ingest.readers import Format, read_stream
from simatch.ingest.report import DuplicateFlag, IngestReport, Rejection

log = logging.getLogger("simatch.api.records")
router = APIRouter(prefix="/v1", tags=["records"], responses=ERROR_RESPONSES)

KindPath = Annotated[Kind, Path(description="innovation, need, call or actor")]
IdPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")]
REPORT_LIMIT = 1000  # rejected rows and duplicates listed in an import answer

_RAW_TYPES: dict[str, str] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/json": "jsonl",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
_TEXT_SCHEMA = {"schema": {"type": "string"}}
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file as the raw body (streamed: rows land while it uploads), or "
        "as the `file` field of a multipart form (spooled to a temporary file first).",
        "content": {
            "application/x-ndjson": _TEXT_SCHEMA,
            "text/csv": _TEXT_SCHEMA,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class RecordList(BaseModel):
    items: list[AnyRecord]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
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


@router.get("/records", response_model=RecordList, summary="List records, one page at a time")
def list_records(
    _caller: MatchAccess,
    container: ContainerDep,
    kind: Kind | None = None,
    q: Annotated[
        str | None, Param(max_length=200, description="Id, title, name or organisation contains")
    ] = None,
    cursor: Annotated[str | None, Param(max_length=200)] = None,
    limit: Annotated[int, Param(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    page = container.record_service.list(kind, q, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/records/{kind}/{id}", response_model=AnyRecord, summary="Read one record")
def get_record(
    kind: KindPath, id: IdPath, _caller: MatchAccess, container: ContainerDep
) -> dict[str, Any]:
    return container.record_service.get(kind, id)


@router.put(
    "/records/{kind}/{id}",
    response_model=AnyRecord,
    responses={201: {"model": AnyRecord, "description": "Created."}},
    summary="Create or replace a record (201 created, 200 replaced or unchanged)",
)
def put_record(
    kind: KindPath,
    id: IdPath,
    record: Annotated[AnyRecord, Body(description="The full record; kind and id as in the URL.")],
    response: Response,
    _caller: CurateAccess,
    container: ContainerDep,
) -> dict[str, Any]:
    stored = container.record_service.put(kind, id, record.model_dump(mode="json"))
    response.status_code = 201 if stored.created else 200
    return stored.record


@router.delete(
    "/records/{kind}/{id}", status_code=204, response_class=Response, summary="Delete a record"
)
def delete_record(
    kind: KindPath, id: IdPath, _caller: CurateAccess, container: ContainerDep
) -> Response:
    container.record_service.delete(kind, id)
    return Response(status_code=204)


@router.post(
    "/records/import",
    response_model=ImportReport,
    openapi_extra=IMPORT_BODY,
    responses={415: {"model": ErrorResponse, "description": "Not JSONL, CSV or a form."}},
    summary="Import a JSONL or CSV file; 200 with a report once the file was read to the end",
)
async def import_records(
    request: Request,
    _caller: CurateAccess,
    container: ContainerDep,
    metrics: MetricsDep,
    format: Annotated[
        Literal["jsonl", "csv", "tsv"] | None,
        Param(description="Overrides the Content-Type and the file name."),
    ] = None,
    filename: Annotated[
        str | None, Param(max_length=200, description="Names the file in the report.")
    ] = None,
) -> ImportReport:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    service = container.import_service
    if content_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("The form needs a 'file' field.", {"field": "file"})
            name = upload.filename or filename or "upload"
            fmt, source = _format(format, None, name)
            rows = read_stream(upload.file, source, fmt)
            report = await anyio.to_thread.run_sync(service.import_rows, rows)
    elif format or content_type in _RAW_TYPES:
        fmt, source = _format(format, _RAW_TYPES.get(content_type), filename)
        rows = read_stream(buffered(request.stream()), source, fmt)
        try:
            report = await anyio.to_thread.run_sync(service.import_rows, rows)
        except ClientDisconnect:
            log.info("import interrupted by the client; the rows before that landed")
            raise HTTPException(400, "The upload was interrupted.") from None
    else:
        raise HTTPException(
            415,
            "Send the file as application/x-ndjson, text/csv, text/tab-separated-values or "
            "multipart/form-data (field 'file'), or name it with ?format=.",
        )
    for outcome in ("added", "updated", "unchanged"):
        metrics.imported_rows.labels(outcome).inc(getattr(report, outcome))
    metrics.imported_rows.labels("rejected").inc(len(report.rejected))
    if report.read == 0:
        raise InvalidInput("The upload holds no rows.", {"field": "file"})
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
