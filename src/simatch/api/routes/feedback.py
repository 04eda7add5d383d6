"""Feedback on match results: POST by whoever may match, GET for staff (curate scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter
from fastapi import Query as Param
from pydantic import BaseModel, ConfigDict, Field

from simatch.api.auth import CurateAccess, MatchAccess
from simatch.api.deps import FeedbackServiceDep, MetricsDep
from simatch.api.errors import error_responses
from simatch.api.params import SEQUENCE_PATTERN, PageLimit, SequenceCursor
from simatch.domain.results import ItemKind
from simatch.domain.stores import FeedbackEntry

router = APIRouter(prefix="/v1", tags=["feedback"])

Verdict = Literal["useful", "not_useful"]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "match_id": "3f0c2b8e9d7a4c1f8e6b5a4d3c2b1a09",
                    "item_id": "inn-fi-001",
                    "verdict": "not_useful",
                    "reason": "The project ended in 2023.",
                }
            ]
        },
    )

    match_id: str = Field(min_length=1, max_length=64, description="From the match result.")
    item_id: str = Field(min_length=1, max_length=200, description="The `id` of the item.")
    kind: ItemKind | None = Field(
        None, description="The item's `kind`; needed only if two items share an id."
    )
    verdict: Verdict
    reason: str | None = Field(None, max_length=1000, description="Free text for staff.")


class Feedback(BaseModel):
    id: int
    match_id: str
    item_id: str
    kind: ItemKind
    verdict: Verdict
    reason: str | None
    source: str = Field(description="Where it came from: api, slack, teams ...")
    created: datetime
    language: str | None = Field(description="Detected language of the query.")

    @classmethod
    def of(cls, entry: FeedbackEntry) -> Feedback:
        return cls(
            id=entry.id,
            match_id=entry.match_id,
            item_id=entry.item_id,
            kind=cast(ItemKind, entry.item_kind),
            verdict=entry.verdict,
            reason=entry.reason,
            source=entry.source,
            created=entry.created,
            language=entry.language,
        )


class FeedbackList(BaseModel):
    items: list[Feedback]
    next_cursor: str | None = Field(
        pattern=SEQUENCE_PATTERN, description="Pass as `cursor` for the next page; null at the end."
    )


@router.post(
    "/feedback",
    status_code=201,
    response_model=Feedback,
    responses=error_responses(
        {404: "No such match (unknown or expired), or the match did not return the item."}
    ),
    summary="Say whether an item of a match was useful",
)
def create_feedback(
    body: FeedbackRequest, _caller: MatchAccess, service: FeedbackServiceDep, metrics: MetricsDep
) -> Feedback:
    entry = service.record(
        match_id=body.match_id,
        item_id=body.item_id,
        verdict=body.verdict,
        reason=body.reason,
        source="api",
        kind=body.kind,
    )
    metrics.feedback.labels(entry.verdict).inc()
    return Feedback.of(entry)


@router.get("/feedback", response_model=FeedbackList, summary="List feedback, newest first")
def list_feedback(
    _caller: CurateAccess,
    service: FeedbackServiceDep,
    verdict: Verdict | None = None,
    item_id: Annotated[str | None, Param(max_length=200)] = None,
    source: Annotated[str | None, Param(max_length=40)] = None,
    cursor: SequenceCursor = None,
    limit: PageLimit = 50,
) -> dict[str, Any]:
    page = service.list(limit, cursor, verdict, item_id, source)
    return {"items": [Feedback.of(e) for e in page.items], "next_cursor": page.next_cursor}
