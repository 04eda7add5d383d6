"""GET /v1/gaps: questions nothing good was found for, so staff know what content is missing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi import Query as Param
from pydantic import BaseModel, Field

from simatch.api.auth import CurateAccess
from simatch.api.deps import GapServiceDep

router = APIRouter(prefix="/v1", tags=["gaps"])


class Gap(BaseModel):
    id: int
    created_at: datetime
    source: str = Field(description="api, cli, slack or teams")
    language: str
    text: str = Field(description="The question as asked (never who asked it).")
    regions: list[str]
    match_id: str | None


class GapList(BaseModel):
    items: list[Gap]
    total: int


@router.get("/gaps", response_model=GapList, summary="Questions without a good match, newest first")
def list_gaps(
    _caller: CurateAccess,
    service: GapServiceDep,
    limit: Annotated[int, Param(ge=1, le=500)] = 50,
    offset: Annotated[int, Param(ge=0, le=1_000_000)] = 0,
) -> GapList:
    return GapList(
        items=[
            Gap(
                id=g.id,
                created_at=g.created_at,
                source=g.platform,
                language=g.language,
                text=g.text,
                regions=list(g.regions),
                match_id=g.match_id,
            )
            for g in service.list(limit, offset)
        ],
        total=service.count(),
    )
