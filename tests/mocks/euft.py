"""A mock of the EU Funding & Tenders portal's search service, in the shape its public
clients observe (responses written by us): POST with apiKey/text/pageSize/pageNumber in the
query string and the filter as multipart parts ``query`` and ``languages``; results whose
metadata values are all lists of strings, HTML and JSON-in-a-string included.

Run it on its own for manual tries and the benchmark:
``python -m tests.mocks.euft --topics 2000 --port 18401``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import threading
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from tests.mocks.http import MockServer, Request, Response

PATH = "/search-api/prod/rest/search"
FORTHCOMING, OPEN, CLOSED = "31094501", "31094502", "31094503"
ESF_PLUS, CERV, HORIZON = "43254019", "43251589", "43108390"


def stamp(day: date | str) -> str:
    """Dates as the portal writes them."""
    return f"{day}T00:00:00.000+0000" if isinstance(day, date) else day


def topic(
    identifier: str,
    title: str,
    description_html: str,
    *,
    status: str = OPEN,
    deadlines: Sequence[date | str] = (date(2027, 4, 8),),
    start: date | str = date(2026, 10, 1),
    call_identifier: str | None = None,
    programme: str = ESF_PLUS,
    priorities: Sequence[str] = ("SocInnov",),
    tags: Sequence[str] = (),
    keywords: Sequence[str] = (),
    budget: float | None = 2_000_000,
    type_: str = "1",
    drop: Sequence[str] = (),
    checksum: str | None = None,
) -> dict[str, Any]:
    """One search result in the portal's shape."""
    call = call_identifier or identifier.rsplit("-", 1)[0]
    dates = [stamp(d) for d in deadlines]
    actions = [
        {
            "status": {"id": int(status), "abbreviation": "Open"},
            "types": [{"typeOfAction": "Project grants"}],
            "deadlineModel": "two-stage" if len(dates) > 1 else "single-stage",
            "deadlineDates": dates,
            "plannedOpeningDate": stamp(start),
        }
    ]
    overview = {
        "budgetTopicActionMap": {
            "1": [
                {
                    "action": f"{identifier} - Project grants",
                    "budgetYearMap": {"2027": budget} if budget else {},
                    "expectedGrants": 4,
                }
            ]
        },
        "budgetYearsColumns": ["2027"],
    }
    metadata: dict[str, list[str]] = {
        "identifier": [identifier],
        "title": [title],
        "callIdentifier": [call],
        "callTitle": [f"Call {call}"],
        "status": [status],
        "type": [type_],
        "startDate": [stamp(start)],
        "deadlineDate": dates,
        "deadlineModel": ["two-stage" if len(dates) > 1 else "single-stage"],
        "frameworkProgramme": [programme],
        "programmePeriod": ["2021 - 2027"],
        "typesOfAction": ["Project grants"],
        "keywords": list(keywords),
        "tags": list(tags),
        "crossCuttingPriorities": list(priorities),
        "descriptionByte": [description_html],
        "destinationDetails": ["<p>Destination: a fair and inclusive society.</p>"],
        "actions": [json.dumps(actions)],
        "budgetOverview": [json.dumps(overview)],
        "url": [
            "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/"
            f"opportunities/topic-details/{identifier}"
        ],
    }
    for key in drop:
        metadata.pop(key, None)
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest()
    return {
        "apiVersion": "2.124",
        "reference": f"{int(hashlib.md5(identifier.encode()).hexdigest()[:8], 16)}TOPICSen",
        "url": metadata.get("url", [""])[0],
        "title": title,
        "contentType": "text/html",
        "language": "en",
        "checksum": checksum or digest,
        "summary": title,
        "metadata": metadata,
    }


def _matches(clause: dict[str, Any], meta: dict[str, list[str]]) -> bool:
    """The part of the service's query language the profiles use: bool must/should, terms."""
    if "terms" in clause:
        ((field, values),) = clause["terms"].items()
        return any(v in values for v in meta.get(field, []))
    if "bool" in clause:
        inner = clause["bool"]
        must = all(_matches(c, meta) for c in inner.get("must", []))
        should = inner.get("should", [])
        wanted = inner.get("minimum_should_match", 1 if should else 0)
        return must and sum(_matches(c, meta) for c in should) >= wanted
    raise ValueError(f"unsupported clause {list(clause)}")


class EuftService:
    """The handler. ``faults[page]`` are answers served before the real one (a 500 first);
    ``overrides[page]`` replaces the page's body (a changed shape); ``page_cap`` is the
    largest page the service serves whatever was asked; ``delay`` seconds per page; a set
    ``gate`` holds every page until the test opens it (a sync provably still running)."""

    def __init__(self, topics: list[dict[str, Any]], page_cap: int = 100) -> None:
        self.topics = topics
        self.page_cap = page_cap
        self.faults: dict[int, list[Response]] = {}
        self.overrides: dict[int, Any] = {}
        self.delay = 0.0
        self.gate: threading.Event | None = None

    def __call__(self, request: Request) -> Response:
        if request.method != "POST" or request.path != PATH:
            return Response(404, {"message": "not found"})
        p = request.params
        if p.get("apiKey") != "SEDIA" or "text" not in p:
            return Response(400, {"message": "apiKey and text are required"})
        if "query" not in request.parts or "languages" not in request.parts:
            return Response(400, {"message": "query and languages must be multipart parts"})
        try:
            query = json.loads(request.parts["query"][1])
            languages = json.loads(request.parts["languages"][1])
            size, number = int(p["pageSize"]), int(p["pageNumber"])
        except (KeyError, ValueError):
            return Response(400, {"message": "bad query, languages, pageSize or pageNumber"})
        if not isinstance(languages, list):
            return Response(400, {"message": "languages must be a list"})
        queued = self.faults.get(number)
        if queued:
            return queued.pop(0)
        if self.gate is not None:
            self.gate.wait(timeout=60)
        if self.delay:
            time.sleep(self.delay)
        if number in self.overrides:
            return Response(200, self.overrides[number])
        found = [t for t in self.topics if _matches(query, t["metadata"])]
        size = min(size, self.page_cap)
        page = found[(number - 1) * size : number * size]
        body = {
            "apiVersion": "2.124",
            "terms": p["text"],
            "text": p["text"],
            "pageNumber": number,
            "pageSize": size,
            "sort": {"order": "DESC", "field": "sortStatus"},
            "totalResults": len(found),
            "results": page,
        }
        return Response(200, body)


_PROBLEMS = [
    "loneliness of older people living alone",
    "long-term unemployment of young adults",
    "integration of migrant families into local services",
    "digital exclusion of people with low income",
    "mental health of students after the pandemic",
    "homelessness among young people leaving care",
    "social isolation of informal carers",
    "school drop-out in rural regions",
    "energy poverty in social housing",
    "access to employment for persons with disabilities",
]
_MEANS = [
    "community-led services",
    "peer support networks",
    "social enterprises",
    "co-designed local pilots",
    "partnerships of municipalities and NGOs",
    "digital tools made with their users",
    "mentoring programmes",
    "volunteer-based outreach",
]
_THEMES = ["social inclusion", "employment", "migration", "ageing", "youth", "mental health"]


def make_topics(count: int, today: date, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` varied topics around social innovation: about 60 % open, 20 % forthcoming,
    20 % closed, one in ten two-stage, every 150th repeated on a later page."""
    rng = random.Random(seed)
    topics: list[dict[str, Any]] = []
    for n in range(count):
        problem, means = rng.choice(_PROBLEMS), rng.choice(_MEANS)
        roll = rng.random()
        status = OPEN if roll < 0.6 else FORTHCOMING if roll < 0.8 else CLOSED
        first = today + timedelta(days=rng.randint(20, 300))
        opens = today - timedelta(days=30)
        if status == CLOSED:
            first = today - timedelta(days=rng.randint(1, 200))
        deadlines = [first]
        if n % 10 == 3:
            deadlines.append(first + timedelta(days=150))
        identifier = f"ESF-SOCPL-2027-{n // 50:02d}-TOPIC-{n:04d}"
        html = (
            f"<p><strong>Expected outcome:</strong> projects tackle {problem} through {means}."
            "</p><ul><li>Pilot the approach in at least two member states.</li>"
            f"<li>Measure the effect on {problem.split(' of ')[0]}.</li></ul>"
            f"<p>Scope: proposals combine research and practice; the call number is {n}.</p>"
        )
        topics.append(
            topic(
                identifier,
                f"{means.capitalize()} against {problem}",
                html,
                status=status,
                deadlines=deadlines,
                start=first - timedelta(days=90) if status == FORTHCOMING else opens,
                tags=[rng.choice(_THEMES)],
                keywords=["social innovation"],
                budget=rng.choice([500_000, 1_000_000, 3_500_000]),
            )
        )
        if n % 150 == 149:
            topics.append(topics[n - 120])  # the service repeats a topic on a later page
    return topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=2000)
    parser.add_argument("--port", type=int, default=18401)
    args = parser.parse_args()
    service = EuftService(make_topics(args.topics, date.today()))
    with MockServer(service, args.port) as server:
        print(f"{server.base_url}{PATH}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
