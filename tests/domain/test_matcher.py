"""The Matcher over the real index and text toolbox, with the fake embedder (fast)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from simatch.domain.matcher import Matcher
from simatch.domain.ports import Hit
from simatch.domain.query import Query
from simatch.errors import InvalidInput, TextTooLong
from simatch.ingest.readers import RawRow
from tests.conftest import ContainerFactory

TODAY = date(2026, 11, 22)


def rows(records: list[dict[str, object]]) -> list[RawRow]:
    return [RawRow("test", n, r) for n, r in enumerate(records, start=1)]


RECORDS: list[dict[str, object]] = [
    {
        "kind": "innovation",
        "id": "i1",
        "title": "Nuorten yksinäisyys kylällä",
        "summary": "Nuorten yksinäisyys vähenee, kun kylätalolla on nuorisoilta.",
        "organisation": "Kylä ry",
        "regions": ["Kainuu"],
        "funders": ["STEA"],
    },
    {
        "kind": "innovation",
        "id": "i2",
        "title": "Nuorten yksinäisyys verkossa",
        "summary": "Nuorten yksinäisyys helpottaa verkkopeli-illoissa.",
        "organisation": "Kylä ry",
        "regions": ["valtakunnallinen"],
        "funders": ["STEA", "Sitra"],
    },
    {
        "kind": "innovation",
        "id": "i3",
        "title": "Ikäihmisten ruokapalvelu",
        "summary": "Kotiin kuljetettava ateria ikäihmisille.",
        "organisation": "Ruoka Oy",
        "regions": ["Uusimaa"],
        "funders": ["Kela"],
    },
    {
        "kind": "need",
        "id": "n1",
        "title": "Nuorten yksinäisyys pikkukunnassa",
        "description": "Nuorten yksinäisyys on kasvanut.",
        "organisation": "Pikkukunta",
    },
    {
        "kind": "actor",
        "id": "a1",
        "name": "Kylä ry",
        "description": "Nuorten yksinäisyys on työmme.",
    },
    {
        "kind": "call",
        "id": "open",
        "title": "Nuorten yksinäisyys -haku",
        "description": "Rahoitusta nuorten yksinäisyyden vähentämiseen.",
        "funder": "STEA",
        "deadline": "2026-12-31",
        "eligible_applicants": ["yhdistykset"],
    },
    {
        "kind": "call",
        "id": "closed",
        "title": "Nuorten yksinäisyys -haku 2025",
        "description": "Rahoitusta nuorten yksinäisyyden vähentämiseen.",
        "funder": "STEA",
        "deadline": "2026-11-21",
    },
    {
        "kind": "call",
        "id": "today",
        "title": "Nuorten yksinäisyys viimeinen päivä",
        "description": "Nuorten yksinäisyys.",
        "funder": "Sitra",
        "deadline": "2026-11-22",
    },
]


@pytest.fixture
def matcher(make_container: ContainerFactory) -> Matcher:
    box = make_container()
    report = box.ingestor.ingest(rows(RECORDS))
    assert report.rejected == []
    return box.matcher


def test_three_sections_and_no_closed_call(matcher: Matcher) -> None:
    result = matcher.match(Query("Nuorten yksinäisyys", today=TODAY))
    assert [i.id for i in result.solutions][:2] == ["i1", "i2"] or {
        i.id for i in result.solutions[:2]
    } == {"i1", "i2"}
    call_ids = [i.id for i in result.funders if i.kind == "call"]
    assert "open" in call_ids and "today" in call_ids
    assert "closed" not in call_ids
    open_call = next(i for i in result.funders if i.id == "open")
    assert open_call.days_to_deadline == 39
    assert open_call.deadline == date(2026, 12, 31)
    assert any(r.code == "deadline" for r in open_call.why.reasons)
    assert result.query.detected == "fi"


def test_peers_are_grouped_by_organisation(matcher: Matcher) -> None:
    result = matcher.match(Query("Nuorten yksinäisyys", today=TODAY, limit=10))
    names = [p.title for p in result.peers]
    assert len(names) == len(set(names))
    kyla = next(p for p in result.peers if p.title == "Kylä ry")
    assert kyla.kind == "actor" and kyla.id == "a1"
    assert {r.id for r in kyla.records} == {"i1", "i2"}


def test_funders_of_similar_innovations_are_listed(matcher: Matcher) -> None:
    result = matcher.match(Query("Nuorten yksinäisyys", today=TODAY, limit=10))
    funders = {i.title: i for i in result.funders if i.kind == "funder"}
    assert "STEA" in funders
    assert {r.id for r in funders["STEA"].records} >= {"i1", "i2"}
    assert funders["STEA"].why.reasons[0].code == "funded_similar"


def test_region_filter_keeps_national_records(matcher: Matcher) -> None:
    result = matcher.match(Query("Nuorten yksinäisyys", regions=("Uusimaa",), today=TODAY))
    ids = {i.id for i in result.solutions}
    assert "i1" not in ids  # Kainuu only
    assert "i2" in ids  # national
    assert "i3" in ids


def test_offset_pages_through_results(matcher: Matcher) -> None:
    first = matcher.match(Query("Nuorten yksinäisyys", today=TODAY, limit=1))
    second = matcher.match(Query("Nuorten yksinäisyys", today=TODAY, limit=1, offset=1))
    assert first.solutions[0].id != second.solutions[0].id


def test_why_names_shared_terms(matcher: Matcher) -> None:
    result = matcher.match(Query("Nuorten yksinäisyys", today=TODAY))
    top = result.solutions[0]
    assert top.why.passage
    assert "yksinäisyys" in top.why.terms


def test_bad_text_is_refused(matcher: Matcher) -> None:
    with pytest.raises(InvalidInput):
        matcher.match(Query("   "))
    with pytest.raises(TextTooLong):
        matcher.match(Query("sana " * 2000))


def test_zscore_fusion_keeps_how_far_ahead_a_channel_is(matcher: Matcher) -> None:
    def hit(key: str, score: float) -> Hit:
        return Hit(key, score, {"kind": "innovation"})

    dense = [hit("a", 0.85), hit("d", 0.849), hit("b", 0.84), hit("c", 0.80)]
    lexical = [hit("d", 9.0), hit("a", 1.0), hit("e", 0.9)]
    matcher.tuning = replace(matcher.tuning, fusion="zscore")
    fused = matcher.fuse(dense, lexical)
    # d: a near-tie with a in dense, far ahead of it lexically; to RRF the two are equal.
    assert fused[0].key == "d"
    assert {f.key for f in fused} == {"a", "b", "c", "d", "e"}
    assert all(0.0 < f.score < 1.0 for f in fused)
    assert fused[0].similarity == 0.849 and fused[0].ranks == {"dense": 2, "lexical": 1}
    assert next(f for f in fused if f.key == "e").similarity == 0.0
    matcher.tuning = replace(matcher.tuning, fusion="rrf")
    assert matcher.fuse(dense, lexical)[0].key == "a"
    # Feedback moves the fused score either way.
    matcher.tuning = replace(matcher.tuning, fusion="zscore")
    boosted = matcher.fuse(dense, lexical, {"b": 0.5})
    assert boosted[0].key == "b"
    # One channel alone ranks by its own scores.
    alone = replace(matcher.tuning, lexical_weight=0.0)
    assert [f.key for f in alone.fuse(dense, lexical)][:3] == ["a", "d", "b"]


def test_rrf_fusion_rewards_agreement(matcher: Matcher) -> None:
    def hit(key: str) -> Hit:
        return Hit(key, 0.8, {"kind": "innovation"})

    matcher.tuning = replace(matcher.tuning, dense_weight=1.0, lexical_weight=0.5, fusion="rrf")
    fused = matcher.fuse([hit("a"), hit("b"), hit("c")], [hit("c"), hit("b")])
    assert fused[0].key == "b"  # ranks 2 and 2 beat ranks 3 and 1 with these weights
    assert fused[-1].key == "a"
    assert 0 < fused[-1].score < fused[0].score <= 1.0
