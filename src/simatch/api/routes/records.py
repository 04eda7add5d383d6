"""Records one by one: list, read, put, delete (curate scope to change). Files: ``imports.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi import Query as Param
from pydantic import BaseModel, Field

from simatch.api.auth import CurateAccess, MatchAccess
from simatch.api.deps import RecordServiceDep
from simatch.api.errors import error_responses
from simatch.api.params import (
    UUID_PATTERN,
    KindPath,
    PageLimit,
    RecordCursor,
    RecordIdPath,
)
from simatch.domain.records import AnyRecord, Kind

router = APIRouter(prefix="/v1", tags=["records"])

NOT_FOUND = error_responses({404: "No record of this kind with this id."})
# Where to go from one record: read it again or delete it (also what a fuzzer follows).
_RECORD_LINKS = {
    "get": {
        "operationId": "get_record",
        "parameters": {"kind": "$response.body#/kind", "id": "$response.body#/id"},
    },
    "delete": {
        "operationId": "delete_record",
        "parameters": {"kind": "$response.body#/kind", "id": "$response.body#/id"},
    },
}
_EXAMPLES: dict[str, Any] = {
    "innovation": {
        "kind": "innovation",
        "id": "inn-demo-1",
        "title": "Kylän nuorten olohuone",
        "summary": "Nuoret kokoontuvat kylätalolla iltaisin; yksinäisyys vähenee.",
        "regions": ["Kainuu"],
    },
    "call": {
        "kind": "call",
        "id": "call-demo-1",
        "title": "Avustushaku nuorten hyvinvointiin",
        "description": "Rahoitusta nuorten yksinäisyyden ehkäisyyn.",
        "funder": "STEA",
        "deadline": "2031-01-31",
    },
}


class RecordList(BaseModel):
    items: list[AnyRecord]
    next_cursor: str | None = Field(
        pattern=UUID_PATTERN, description="Pass as `cursor` for the next page; null at the end."
    )


@router.get("/records", response_model=RecordList, summary="List records, one page at a time")
def list_records(
    _caller: MatchAccess,
    service: RecordServiceDep,
    kind: Kind | None = None,
    q: Annotated[
        str | None, Param(max_length=200, description="Id, title, name or organisation contains")
    ] = None,
    cursor: RecordCursor = None,
    limit: PageLimit = 50,
) -> dict[str, Any]:
    page = service.list(kind, q, cursor, limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/records/{kind}/{id}",
    response_model=AnyRecord,
    responses=NOT_FOUND,
    summary="Read one record",
)
def get_record(
    kind: KindPath, id: RecordIdPath, _caller: MatchAccess, service: RecordServiceDep
) -> dict[str, Any]:
    return service.get(kind, id)


@router.put(
    "/records/{kind}/{id}",
    response_model=AnyRecord,
    responses={
        201: {"model": AnyRecord, "description": "Created."},
        **error_responses(
            {409: "The body's `kind` or `id` is not the one in the URL (RFC 9110, 9.3.4)."}
        ),
    },
    summary="Create or replace a record (201 created, 200 replaced or unchanged)",
    openapi_extra={"responses": {"200": {"links": _RECORD_LINKS}, "201": {"links": _RECORD_LINKS}}},
)
def put_record(
    kind: KindPath,
    id: RecordIdPath,
    record: Annotated[
        AnyRecord,
        Body(
            description="The full record; its `kind` and `id` must be the URL's (else 409).",
            openapi_examples={k: {"summary": k, "value": v} for k, v in _EXAMPLES.items()},
        ),
    ],
    response: Response,
    caller: CurateAccess,
    service: RecordServiceDep,
) -> dict[str, Any]:
    stored = service.put(kind, id, record.model_dump(mode="json"), caller.actor)
    response.status_code = 201 if stored.created else 200
    return stored.record


@router.delete(
    "/records/{kind}/{id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
    summary="Delete a record",
)
def delete_record(
    kind: KindPath, id: RecordIdPath, caller: CurateAccess, service: RecordServiceDep
) -> Response:
    service.delete(kind, id, caller.actor)
    return Response(status_code=204)
