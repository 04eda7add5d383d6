"""Records one by one: list, read, put, delete (curate scope to change). Files: ``imports.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from fastapi import Query as Param
from pydantic import BaseModel, Field

from simatch.api.auth import CurateAccess, MatchAccess
from simatch.api.deps import RecordServiceDep
from simatch.api.errors import ERROR_RESPONSES
from simatch.domain.records import AnyRecord, Kind

router = APIRouter(prefix="/v1", tags=["records"], responses=ERROR_RESPONSES)

KindPath = Annotated[Kind, Path(description="innovation, need, call or actor")]
IdPath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\s/]+$")]


class RecordList(BaseModel):
    items: list[AnyRecord]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


@router.get("/records", response_model=RecordList, summary="List records, one page at a time")
def list_records(
    _caller: MatchAccess,
    service: RecordServiceDep,
    kind: Kind | None = None,
    q: Annotated[
        str | None, Param(max_length=200, description="Id, title, name or organisation contains")
    ] = None,
    cursor: Annotated[str | None, Param(max_length=200)] = None,
    limit: Annotated[int, Param(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    page = service.list(kind, q, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/records/{kind}/{id}", response_model=AnyRecord, summary="Read one record")
def get_record(
    kind: KindPath, id: IdPath, _caller: MatchAccess, service: RecordServiceDep
) -> dict[str, Any]:
    return service.get(kind, id)


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
    service: RecordServiceDep,
) -> dict[str, Any]:
    stored = service.put(kind, id, record.model_dump(mode="json"))
    response.status_code = 201 if stored.created else 200
    return stored.record


@router.delete(
    "/records/{kind}/{id}", status_code=204, response_class=Response, summary="Delete a record"
)
def delete_record(
    kind: KindPath, id: IdPath, _caller: CurateAccess, service: RecordServiceDep
) -> Response:
    service.delete(kind, id)
    return Response(status_code=204)
