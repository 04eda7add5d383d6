"""POST /v1/match: the same result object as ``simatch match --json``, plus a ``match_id``."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simatch.api.auth import MatchAccess
from simatch.api.deps import MatchServiceDep, MetricsDep
from simatch.api.openapi import configured
from simatch.api.params import NOT_BLANK_TEXT, json_integer
from simatch.domain.query import MAX_LIMIT, Query
from simatch.domain.results import SECTIONS, MatchResult, Section

log = logging.getLogger("simatch.api.match")
router = APIRouter(prefix="/v1", tags=["match"])

Name = Annotated[str, Field(min_length=1, max_length=100)]
_WHY = {"passage": "Nuoret kokoontuvat iltaisin kylätalon olohuoneessa.", "terms": ["nuori"]}
RESULT_EXAMPLE = {
    "query": {"language": "fi", "detected": "fi", "regions": ["Pirkanmaa"], "target_groups": []},
    "solutions": [
        {
            "id": "inn-fi-001",
            "kind": "innovation",
            "title": "Kylän nuorten olohuone",
            "score": 0.97,
            "confidence": "strong",
            "language": "fi",
            "organisation": "Järvikylän nuorisoyhdistys ry",
            "regions": ["valtakunnallinen"],
            "why": {**_WHY, "reasons": [{"code": "passage", "params": {}}]},
        }
    ],
    "peers": [],
    "funders": [
        {
            "id": "call-007",
            "kind": "call",
            "title": "Nuorten osallisuus 2027",
            "score": 0.81,
            "confidence": "possible",
            "funder": "STEA",
            "deadline": "2027-03-31",
            "days_to_deadline": 120,
            "why": {**_WHY, "reasons": [{"code": "deadline", "params": {"days": 120}}]},
        },
        {
            "id": "ERASMUS-2027-SPORT-06",
            "kind": "call",
            "title": "Sport clubs as a route to inclusion for children with disabilities",
            "score": 0.74,
            "confidence": "possible",
            "funder": "European Commission",
            "programme": "Erasmus+",
            "deadline": "2027-04-08",
            "days_to_deadline": 128,
            "provenance": {
                "source": "eu-ft",
                "source_id": "ERASMUS-2027-SPORT-06",
                "url": "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/"
                "opportunities/topic-details/ERASMUS-2027-SPORT-06",
                "fetched_at": "2026-11-30T05:47:31+00:00",
            },
            "why": {**_WHY, "reasons": [{"code": "deadline", "params": {"days": 128}}]},
        },
    ],
    "confidence": "strong",
    "no_good_match": False,
    "match_id": "3f0c2b8e9d7a4c1f8e6b5a4d3c2b1a09",
}


class MatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "Nuoret syrjäytyvät pienillä paikkakunnilla, miten tavoittaa heidät?",
                    "regions": ["Pirkanmaa"],
                    "limit": 5,
                }
            ]
        },
    )

    text: str = Field(
        min_length=1,
        pattern=NOT_BLANK_TEXT,
        description="The problem, in Finnish, English or Swedish "
        "(at most SIMATCH_MAX_TEXT_CHARS characters: 422 `too_long` above).",
        json_schema_extra=configured(maxLength="max_text_chars"),
    )
    language: Literal["fi", "en", "sv"] | None = Field(
        None, description="Answer language; detected from the text when not given."
    )
    regions: list[Name] = Field(
        default_factory=list, max_length=20, description="Only records serving these regions."
    )
    target_groups: list[Name] = Field(
        default_factory=list, max_length=20, description="Only records for these target groups."
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None = Field(
        None,
        description="Items per section (default SIMATCH_MATCH_LIMIT, at most "
        "SIMATCH_MATCH_MAX_LIMIT).",
        json_schema_extra=configured(maximum="match_max_limit"),
    )
    offset: int = Field(0, ge=0, le=1000, description="Skip this many items per section.")
    sections: list[Section] | None = Field(
        None, min_length=1, description="Sections to compute (default: all three)."
    )

    _integers = field_validator("limit", "offset", mode="before")(json_integer)


@router.post(
    "/match",
    response_model=MatchResult,
    summary="Find solutions, peers and funders for a described problem",
    responses={200: {"content": {"application/json": {"example": RESULT_EXAMPLE}}}},
)
def match(
    body: MatchRequest, _caller: MatchAccess, service: MatchServiceDep, metrics: MetricsDep
) -> Response:
    sections = tuple(s for s in SECTIONS if s in body.sections) if body.sections else SECTIONS
    query = Query(
        text=body.text,
        language=body.language,
        regions=tuple(body.regions),
        target_groups=tuple(body.target_groups),
        limit=body.limit,  # None: the configured default (the service applies the limits)
        offset=body.offset,
        sections=sections,
    )
    started = time.perf_counter()
    result = service.match(query)
    metrics.match_latency.observe(time.perf_counter() - started)
    log.debug("match", extra={"text_chars": len(body.text), "language": result.query.detected})
    # Serialised by pydantic directly: the model is already valid, no second validation.
    return Response(result.model_dump_json(), media_type="application/json")
