"""A mock of haeavustuksia.fi's public JSON service, in the shape its public clients observe
(responses written by us): ``GET /api/haku/list-items`` with ``Pagination.Page``,
``Pagination.PageSize``, ``Language``, ``ShowFuture``, ``ShowOngoing`` and optionally
``VaOrgLyhenne``; ``GET /api/haku/valtionapuviranomaiset`` lists the authorities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.mocks.http import Request, Response

LIST_PATH = "/api/haku/list-items"
AUTHORITIES_PATH = "/api/haku/valtionapuviranomaiset"

AUTHORITIES = [
    {
        "lyhenne": "STEA",
        "nimi": {
            "fi": "Sosiaali- ja terveysjärjestöjen avustuskeskus STEA",
            "sv": "Social- och hälsoorganisationernas understödscentral STEA",
            "en": "Funding Centre for Social Welfare and Health Organisations STEA",
        },
    },
    {"lyhenne": "OKM", "nimi": {"fi": "Opetus- ja kulttuuriministeriö", "sv": None, "en": None}},
]


def utc(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def haku(
    number: str,
    nimi: dict[str, str | None],
    kuvaus: dict[str, str | None],
    *,
    starts: datetime | None,
    ends: datetime | None,
    authority: str | None,
    kind: str = "Maaraaikainen",
    future: bool = False,
) -> dict[str, Any]:
    """One hakuilmoitus; ``_authority`` and ``_future`` are the mock's own (not served)."""
    return {
        "hakuasianAsianumero": number,
        "nimi": {lang: nimi.get(lang) for lang in ("fi", "sv", "en")},
        "kuvaus": {lang: kuvaus.get(lang) for lang in ("fi", "sv", "en")},
        "hakuAlkaaDateTimeUtc": utc(starts),
        "hakuPaattyyDateTimeUtc": utc(ends),
        "hakuTyyppi": kind,
        "julkaisuTyyppi": "Hakuilmoitus",
        "_authority": authority,
        "_future": future,
    }


class HaeavustuksiaService:
    """``page_cap`` is the largest page served; ``faults`` answers served first, by page;
    ``overrides[page]`` replaces a page's body."""

    def __init__(self, calls: list[dict[str, Any]], page_cap: int = 50) -> None:
        self.calls = calls
        self.page_cap = page_cap
        self.authorities: Any = AUTHORITIES
        self.faults: dict[int, list[Response]] = {}
        self.overrides: dict[int, Any] = {}

    def __call__(self, request: Request) -> Response:
        if request.method != "GET":
            return Response(405, {"message": "GET only"})
        if request.path == AUTHORITIES_PATH:
            return Response(200, self.authorities)
        if request.path != LIST_PATH:
            return Response(404, {"message": "not found"})
        p = request.params
        try:
            number, size = int(p["Pagination.Page"]), int(p["Pagination.PageSize"])
        except (KeyError, ValueError):
            return Response(400, {"message": "Pagination.Page and Pagination.PageSize"})
        queued = self.faults.get(number)
        if queued:
            return queued.pop(0)
        if number in self.overrides:
            return Response(200, self.overrides[number])
        authority = p.get("VaOrgLyhenne")
        found = [
            c
            for c in self.calls
            if (authority is None or c["_authority"] == authority)
            and (p.get("ShowFuture") == "true" or not c["_future"])
        ]
        size = min(size, self.page_cap)
        page = found[(number - 1) * size : number * size]
        served = [{k: v for k, v in c.items() if not k.startswith("_")} for c in page]
        return Response(
            200,
            {
                "totalCount": len(found),
                "pageCount": max(1, -(-len(found) // size)),
                "hakuilmoitukset": served,
            },
        )
