"""Syncing haeavustuksia.fi from a loopback mock (real model, real embedded index)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest

from simatch.domain.query import Query
from simatch.wiring import Container
from tests.mocks.haeavustuksia import LIST_PATH, HaeavustuksiaService, haku
from tests.mocks.http import MockServer, Response
from tests.sources.data import days

Box = Callable[..., Container]


def at(n: int, hour: int = 13) -> datetime:
    return datetime.combine(days(n), time(hour, 15), tzinfo=UTC)


def state_grants() -> list[dict[str, Any]]:
    return [
        haku(
            "STEA/120/2026",
            {
                "fi": "Järjestöjen tuki yksinäisille ikäihmisille",
                "sv": "Stöd till organisationer för ensamma äldre",
                "en": "Support for organisations helping lonely older people",
            },
            {
                "fi": "<p>Avustus järjestöille, jotka vähentävät <b>ikäihmisten yksinäisyyttä</b> "
                "vertaistuella ja vapaaehtoistoiminnalla.</p>",
                "sv": "Understöd för att minska ensamheten bland äldre.",
                "en": "Grants for peer support against loneliness of older people.",
            },
            starts=at(-10),
            ends=at(45, 21),  # 23:15 in Helsinki: still the same day there
            authority="STEA",
        ),
        haku(
            "STEA/121/2026",
            {"fi": "Jatkuva avustus kriisityöhön"},
            {"fi": "Kriisiavun järjestöt voivat hakea avustusta jatkuvasti."},
            starts=at(-400),
            ends=at(3650),
            authority="STEA",
            kind="Jatkuva",
        ),
        haku(
            "OKM/77/2026",
            {"sv": "Bidrag för ungdomsarbete på svenska"},
            {"sv": "Bidrag till föreningar som ordnar ungdomsverksamhet på svenska."},
            starts=at(30),
            ends=at(90),
            authority="OKM",
            future=True,
        ),
        haku(
            "OKM/78/2026",
            {"fi": "Harrastustoiminnan avustus, jatkuva haku"},
            {"fi": "Avustus lasten ja nuorten harrastuksiin."},
            starts=at(-20),
            ends=None,
            authority="OKM",
            kind="Jatkuva",
        ),
        haku(
            "OKM/79/2026",
            {"fi": None, "sv": None, "en": None},
            {"fi": "Nimetön haku."},
            starts=at(-1),
            ends=at(10),
            authority="OKM",
        ),
        haku(
            "TEM/5/2026",
            {"fi": "Työllisyyden kuntakokeilujen kehittäminen"},
            {"fi": "Avustus kunnille työllisyyspalvelujen kokeiluihin."},
            starts=at(-5),
            ends=at(60),
            authority=None,  # listed under no authority
        ),
    ]


@pytest.fixture
def mock() -> Iterator[tuple[HaeavustuksiaService, str]]:
    service = HaeavustuksiaService(state_grants(), page_cap=2)
    with MockServer(service) as server:
        yield service, server.base_url + LIST_PATH


@pytest.fixture
def box(sources_box: Box, mock: tuple[HaeavustuksiaService, str]) -> Container:
    # The EU source points nowhere: it fails, and the state grants still sync.
    return sources_box(
        haeavustuksia_url=mock[1], euft_url="http://127.0.0.1:9/search", source_retries=0
    )


def call(box: Container, record_id: str) -> dict[str, Any]:
    return box.record_service.get("call", record_id)


def test_state_grants_sync_in_their_main_language_with_funder(box: Container) -> None:
    eu, grants = box.sync_service.sync_all()
    assert eu.source == "eu-ft" and eu.status == "failed"  # one failing source ...
    assert grants.status == "ok", grants.error  # ... does not stop the others
    c = grants.counts
    assert (c.added, c.rejected, c.duplicates) == (5, 1, 0)
    assert grants.rejections == [{"id": "OKM/79/2026", "field": "nimi", "reason": "no name"}]

    lonely = call(box, "ha-STEA-120-2026")
    assert lonely["language"] == "fi" and lonely["title"].startswith("Järjestöjen tuki")
    assert lonely["description"].startswith("Avustus järjestöille, jotka vähentävät ikäihmisten")
    assert lonely["translations"]["sv"]["title"] == "Stöd till organisationer för ensamma äldre"
    assert lonely["translations"]["en"]["description"].startswith("Grants for peer support")
    assert lonely["funder"] == "Sosiaali- ja terveysjärjestöjen avustuskeskus STEA"
    assert lonely["deadline"] == days(45).isoformat() and not lonely["continuous"]
    assert lonely["source"] == "haeavustuksia" and lonely["source_id"] == "STEA/120/2026"

    swedish = call(box, "ha-OKM-77-2026")  # opens later; only in Swedish
    assert swedish["language"] == "sv" and swedish["funder"] == "Opetus- ja kulttuuriministeriö"
    assert swedish["opens_at"] == days(30).isoformat()
    assert call(box, "ha-STEA-121-2026")["continuous"] is True  # a far-off end date
    open_ended = call(box, "ha-OKM-78-2026")  # no end date at all
    assert open_ended["continuous"] is True and open_ended["deadline"] == "2099-12-31"
    assert call(box, "ha-TEM-5-2026")["funder"] == "TEM"  # under no authority: its prefix


def test_continuous_calls_are_shown_as_continuous(box: Container) -> None:
    box.sync_service.sync("haeavustuksia")
    result = box.match_service.match(
        Query(text="Kriisityön järjestöjen avustus", limit=10), source="cli"
    )
    crisis = next(f for f in result.funders if f.id == "ha-STEA-121-2026")
    assert crisis.continuous and crisis.deadline is None and crisis.days_to_deadline is None
    assert [r.code for r in crisis.why.reasons if r.code in ("continuous", "deadline")] == [
        "continuous"
    ]
    assert crisis.provenance is not None and crisis.provenance.source == "haeavustuksia"
    lonely = next(f for f in result.funders if f.id == "ha-STEA-120-2026")
    assert lonely.days_to_deadline == 45 and not lonely.continuous


def test_withdrawn_grant_disappears_from_matches_but_not_from_staff(
    box: Container, mock: tuple[HaeavustuksiaService, str]
) -> None:
    service, _ = mock
    box.sync_service.sync("haeavustuksia")
    service.calls = [c for c in service.calls if c["hakuasianAsianumero"] != "TEM/5/2026"]
    run = box.sync_service.sync("haeavustuksia")
    assert run.status == "ok" and run.counts.withdrawn == 1 and run.counts.unchanged == 4
    assert call(box, "ha-TEM-5-2026")["withdrawn_at"]
    result = box.match_service.match(Query(text="Työllisyyden kuntakokeilut", limit=10))
    assert all(f.id != "ha-TEM-5-2026" for f in result.funders)


def test_a_changed_shape_fails_loudly(
    box: Container, mock: tuple[HaeavustuksiaService, str]
) -> None:
    service, _ = mock
    service.overrides[1] = {"count": 3, "items": []}
    run = box.sync_service.sync("haeavustuksia")
    assert run.status == "failed"
    assert run.error is not None and "expected an object with totalCount" in run.error
    assert "'count': 'int'" in run.error
    service.overrides.clear()
    service.authorities = {"viranomaiset": []}
    run = box.sync_service.sync("haeavustuksia")
    assert run.status == "failed" and run.error is not None
    assert "authorities: expected a list of authorities, got dict" in run.error


def test_a_500_then_success_is_retried(
    sources_box: Box, mock: tuple[HaeavustuksiaService, str]
) -> None:
    service, url = mock
    service.faults[2] = [Response(500, {"message": "oops"})]
    box = sources_box(haeavustuksia_url=url, source_retries=2)
    run = box.sync_service.sync("haeavustuksia")
    assert run.status == "ok" and run.counts.added == 5
