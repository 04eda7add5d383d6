"""Syncing the EU Funding & Tenders portal from a loopback mock, through the real pipeline
(real model, real embedded index)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simatch.domain.query import Query
from simatch.errors import Conflict, InvalidInput, NotFound
from simatch.wiring import Container
from tests.mocks.euft import PATH, EuftService
from tests.mocks.http import MockServer, Response
from tests.sources.data import days, eu_topics

Box = Callable[..., Container]


@pytest.fixture
def euft() -> Iterator[tuple[EuftService, MockServer]]:
    service = EuftService(eu_topics(), page_cap=3)
    with MockServer(service) as server:
        yield service, server


@pytest.fixture
def box(sources_box: Box, euft: tuple[EuftService, MockServer]) -> Container:
    return sources_box(euft_url=euft[1].base_url + PATH)


def call(box: Container, record_id: str) -> dict[str, Any]:
    return box.record_service.get("call", record_id)


def funders(box: Container, text: str) -> list[Any]:
    return box.match_service.match(Query(text=text, limit=10), source="cli").funders


def test_first_sync_takes_open_and_forthcoming_calls_with_provenance(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    service, server = euft
    service.faults[2] = [Response(500, {"message": "temporarily unavailable"})]
    run = box.sync_service.sync("eu-ft")

    assert run.status == "ok", run.error
    c = run.counts
    assert (c.added, c.updated, c.withdrawn) == (5, 0, 0)
    # The service filtered out the closed topic; one was repeated on a later page; one bad.
    assert (c.skipped, c.duplicates, c.rejected) == (0, 1, 1)
    assert run.rejections == [
        {"id": "ESF-SOCPL-2027-BAD-07", "field": "deadline", "reason": "Field required"}
    ]
    # Every request: the filter as multipart JSON parts, paged, with a descriptive agent.
    pages = [r for r in server.requests if r.method == "POST"]
    assert [r.params["pageNumber"] for r in pages] == ["1", "2", "2", "3"]  # a 500, a retry
    for request in pages:
        assert request.params["apiKey"] == "SEDIA" and request.params["pageSize"] == "100"
        assert json.loads(request.parts["languages"][1]) == ["en"]
        assert "SocInnov" in request.parts["query"][1].decode()
        assert request.headers["user-agent"].startswith("simatch/")

    lonely = call(box, "ESF-SOCPL-2027-INNOV-01")
    assert lonely["description"].startswith("Projects test peer support & volunteer networks")
    assert "<" not in lonely["description"] and "track()" not in lonely["description"]
    assert "- Pilot in two regions" in lonely["description"]
    assert lonely["budget"] == "EUR 2 000 000"
    assert lonely["programme"] == "European Social Fund Plus (ESF+)"
    assert lonely["funder"] == "European Commission"
    assert {"social innovation", "ageing"} <= set(lonely["themes"])
    assert lonely["source"] == "eu-ft" and lonely["source_id"] == "ESF-SOCPL-2027-INNOV-01"
    assert lonely["source_url"].endswith("/topic-details/ESF-SOCPL-2027-INNOV-01")
    assert lonely["fetched_at"] and lonely["checksum"]

    youth = call(box, "CERV-2027-CHILD-02")
    assert youth["status"] == "forthcoming" and youth["opens_at"] == days(20).isoformat()
    # Two-stage calls: the next deadline that has not passed.
    assert call(box, "HORIZON-CL2-2027-TRANSFO-04")["deadline"] == days(150).isoformat()
    ahead = call(box, "HORIZON-CL2-2027-DEMO-05")
    assert ahead["deadline"] == days(40).isoformat()
    assert ahead["programme"].startswith("Horizon Europe, Cluster 2")
    sparse = call(box, "ERASMUS-2027-SPORT-06")  # missing fields: still lands
    assert sparse["description"] == sparse["title"] and sparse["budget"] is None

    with pytest.raises(NotFound):
        call(box, "ESF-SOCPL-2026-OLD-03")  # closed: never imported

    status = {s.name: s for s in box.sync_service.status()}["eu-ft"]
    assert status.items == 5 and status.last_run is not None
    assert status.last_run.status == "ok" and status.last_run.counts.added == 5


def test_matches_show_deadline_days_left_and_provenance(box: Container) -> None:
    assert box.sync_service.sync("eu-ft").status == "ok"
    found = funders(box, "Loneliness of older people who live alone")
    top = next(f for f in found if f.id == "ESF-SOCPL-2027-INNOV-01")
    assert top.kind == "call" and top.deadline == days(60)
    assert top.days_to_deadline == 60
    assert top.provenance is not None and top.provenance.source == "eu-ft"
    assert top.provenance.url and top.provenance.url.endswith("ESF-SOCPL-2027-INNOV-01")
    assert all(f.id != "ESF-SOCPL-2026-OLD-03" for f in found)


def test_resync_changes_nothing_then_updates_and_withdraws_in_place(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    service, _ = euft
    sync = box.sync_service.sync
    assert sync("eu-ft").counts.added == 5

    again = sync("eu-ft")
    assert again.status == "ok"
    assert (again.counts.added, again.counts.updated, again.counts.embedded) == (0, 0, 0)
    assert again.counts.unchanged == 5 and again.counts.withdrawn == 0

    # The source changes one call and stops offering another.
    changed = [t for t in service.topics if t["metadata"]["identifier"] != ["CERV-2027-CHILD-02"]]
    lonely = next(t for t in changed if t["metadata"]["identifier"][0].endswith("INNOV-01"))
    lonely["metadata"]["title"] = ["Social innovation against loneliness, second edition"]
    lonely["checksum"] = "changed-1"
    service.topics = changed
    third = sync("eu-ft")
    assert third.status == "ok", third.error
    assert (third.counts.updated, third.counts.withdrawn, third.counts.added) == (1, 1, 0)
    assert call(box, "ESF-SOCPL-2027-INNOV-01")["title"].endswith("second edition")

    withdrawn = call(box, "CERV-2027-CHILD-02")  # kept for staff ...
    assert withdrawn["withdrawn_at"]
    found = funders(box, "Participation of young people in local democracy youth councils")
    assert all(f.id != "CERV-2027-CHILD-02" for f in found)  # ... out of matches
    assert {s.name: s for s in box.sync_service.status()}["eu-ft"].withdrawn == 1
    assert [r["id"] for r in box.sync_service.withdrawn()] == ["CERV-2027-CHILD-02"]

    service.topics = eu_topics()  # it comes back
    back = sync("eu-ft")
    assert back.counts.withdrawn == 0 and call(box, "CERV-2027-CHILD-02")["withdrawn_at"] is None
    assert any(f.id == "CERV-2027-CHILD-02" for f in funders(box, "young people democracy"))


def test_staff_edit_is_kept_until_the_source_changes_the_call(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    service, _ = euft
    box.sync_service.sync("eu-ft")
    edited = {**call(box, "ESF-SOCPL-2027-INNOV-01"), "regions": ["Pirkanmaa"]}
    box.record_service.put("call", "ESF-SOCPL-2027-INNOV-01", edited)

    box.sync_service.sync("eu-ft")
    assert call(box, "ESF-SOCPL-2027-INNOV-01")["regions"] == ["Pirkanmaa"]

    lonely = next(t for t in service.topics if t["metadata"]["identifier"][0].endswith("INNOV-01"))
    lonely["checksum"] = "changed-2"
    lonely["metadata"]["deadlineDate"] = [f"{days(90)}T00:00:00.000+0000"]
    run = box.sync_service.sync("eu-ft")
    assert run.counts.updated == 1
    after = call(box, "ESF-SOCPL-2027-INNOV-01")
    assert after["deadline"] == days(90).isoformat() and after["regions"] == []


def test_a_shape_change_fails_loudly_and_withdraws_nothing(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    service, _ = euft
    assert box.sync_service.sync("eu-ft").status == "ok"
    service.overrides[2] = {"total": 8, "items": []}  # the service renamed its fields
    run = box.sync_service.sync("eu-ft")
    assert run.status == "failed" and run.counts.withdrawn == 0
    assert run.error is not None
    assert "eu-ft page 2: expected an object with totalResults" in run.error
    assert "'total': 'int'" in run.error and "'items': 'list'" in run.error
    assert all(r["withdrawn_at"] is None for r in box.record_service.list("call").items)
    assert box.sync_service.status()[0].last_run.status == "failed"  # type: ignore[union-attr]


def test_a_source_that_keeps_failing_fails_the_sync_after_retries(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    service, server = euft
    box.sync_service.sync("eu-ft")
    service.faults[3] = [Response(503, {"message": "down"}) for _ in range(10)]
    before = len(server.requests)
    run = box.sync_service.sync("eu-ft")
    assert run.status == "failed" and run.counts.withdrawn == 0
    assert run.error is not None and "eu-ft page 3: failed after 5 attempts" in run.error
    assert "HTTP 503" in run.error
    assert len(server.requests) - before == 2 + 5  # pages 1-2, then five tries of page 3


def test_an_unreachable_source_is_a_clear_failure(sources_box: Box, tmp_path: Path) -> None:
    box = sources_box(euft_url="http://127.0.0.1:9/search", source_retries=1)
    run = box.sync_service.sync("eu-ft")
    assert run.status == "failed"
    assert run.error is not None and "eu-ft page 1: failed after 2 attempts" in run.error
    assert "ConnectError" in run.error


def test_mass_withdrawal_is_refused_unless_asked_for(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    service, _ = euft
    box.sync_service.sync("eu-ft")
    service.topics = service.topics[:1]  # the service suddenly lists one call of five
    run = box.sync_service.sync("eu-ft")
    assert run.status == "failed" and run.counts.withdrawn == 0
    assert run.error is not None and "no longer lists 4 of 5 calls" in run.error
    assert all(r["withdrawn_at"] is None for r in box.record_service.list("call").items)

    forced = box.sync_service.sync("eu-ft", max_withdraw=1.0)
    assert forced.status == "ok" and forced.counts.withdrawn == 4


def test_staff_profile_is_the_query_sent(
    box: Container, euft: tuple[EuftService, MockServer]
) -> None:
    _, server = euft
    service = box.sync_service
    assert service.profile("eu-ft")["any_of"]["crossCuttingPriorities"] == ["SocInnov"]
    narrowed = service.set_profile(
        "eu-ft",
        {"any_of": {"frameworkProgramme": ["43251589"]}},  # CERV only
    )
    assert narrowed["statuses"] == ["31094501", "31094502"]  # the rest from the default
    run = service.sync("eu-ft")
    assert run.status == "ok" and run.counts.added == 1
    sent = json.loads(server.requests[-1].parts["query"][1])
    assert "43251589" in json.dumps(sent) and "SocInnov" not in json.dumps(sent)
    # Staff ask for closed topics too: they are listed but never imported.
    service.set_profile("eu-ft", {"statuses": ["31094501", "31094502", "31094503"]})
    wide = service.sync("eu-ft", max_withdraw=1.0)
    assert wide.counts.skipped == 1 and wide.counts.added == 4
    with pytest.raises(NotFound):
        call(box, "ESF-SOCPL-2026-OLD-03")
    with pytest.raises(InvalidInput, match="unknown profile keys"):
        service.set_profile("eu-ft", {"programmes": ["x"]})
    with pytest.raises(InvalidInput, match="statuses must be a list of strings"):
        service.set_profile("eu-ft", {"statuses": "open"})
    assert service.set_profile("eu-ft", None)["any_of"]["crossCuttingPriorities"] == ["SocInnov"]


def test_one_sync_at_a_time(box: Container) -> None:
    with box.locks.exclusive("sync:eu-ft"):  # as another process or replica would
        with pytest.raises(Conflict, match="already running"):
            box.sync_service.sync("eu-ft")
        skipped = box.sync_service.sync_all(["eu-ft"])[0]
        assert skipped.status == "skipped" and skipped.error is not None
    assert box.sync_service.sync("eu-ft").status == "ok"


def test_sync_state_on_postgresql(
    sources_box: Box, euft: tuple[EuftService, MockServer], fresh_pg_url: str
) -> None:
    url = euft[1].base_url + PATH
    box = sources_box(euft_url=url, database_url=fresh_pg_url)
    assert box.sync_service.sync("eu-ft").counts.added == 5
    again = box.sync_service.sync("eu-ft")
    assert again.counts.unchanged == 5 and again.counts.embedded == 0
    status = {s.name: s for s in box.sync_service.status()}["eu-ft"]
    assert status.items == 5 and status.last_run is not None and status.last_run.id == again.id


def test_a_timeout_is_retried_then_fails_the_sync_clearly(
    sources_box: Box, euft: tuple[EuftService, MockServer]
) -> None:
    service, server = euft
    service.delay = 1.0  # longer than the client waits
    box = sources_box(euft_url=server.base_url + PATH, source_timeout=0.2, source_retries=1)
    run = box.sync_service.sync("eu-ft")
    assert run.status == "failed" and run.counts.withdrawn == 0
    assert run.error is not None and "eu-ft page 1: failed after 2 attempts" in run.error
    assert "ReadTimeout" in run.error
