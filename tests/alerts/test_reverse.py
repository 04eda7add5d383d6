"""Reverse matching on the engine's keys and scores alone (``Matcher.reverse_graded``) shows
each record where a match's own searches and fusion (whole hits, ``Matcher.fuse``) rank
it, with the same score, similarity and confidence: the demo data, the real model, index
and calibration; every demo need against every record."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from simatch.alerts.detector import need_query
from simatch.domain.matcher import Matcher, PreparedQuery, section_of
from simatch.domain.results import Confidence
from simatch.ingest.demo import demo_rows
from simatch.wiring import Container
from tests.alerts.conftest import BoxFactory

INDEXES = Path(__file__).resolve().parents[2] / "indexes"

Shown = list[tuple[str, str, float, float, Confidence]]  # key, section, score, similarity


def _through_hits(
    matcher: Matcher, prepared: PreparedQuery, keys: Collection[str], top: int
) -> Shown:
    """What a match's searches rank among the first ``top`` of each section, graded as a
    match grades an item (``Calibration.nothing_fits`` on the item itself)."""
    calibration = matcher.calibration
    assert calibration is not None
    shown: Shown = []
    for flt in matcher._reverse_filters(prepared.query, keys):
        limit = matcher.tuning.candidates
        dense = matcher.index.search_dense(prepared.search_vector, flt, limit)
        lexical = matcher.index.search_sparse(prepared.terms.sparse, flt, limit)
        rank: dict[str, int] = {}
        for cand in matcher.fuse(dense, lexical):
            section = section_of(cand.payload["kind"])
            rank[section] = rank.get(section, 0) + 1
            if rank[section] > top or cand.key not in keys:
                continue
            language = cand.payload.get("language")
            other = bool(language) and language != prepared.detected
            lift = 0.0  # what the record's language added to its similarity, for ranking
            if matcher.centring is not None and "dense" in cand.ranks:
                lift = matcher.centring.record_lift(prepared.detected, language)
            confidence: Confidence = (
                "weak"
                if calibration.nothing_fits(cand.similarity, cand.score, other, lift)
                else calibration.classify(cand.similarity, cand.score)
            )
            shown.append((cand.key, section, cand.score, cand.similarity, confidence))
    return shown


def test_reverse_matching_ranks_and_grades_as_the_match_searches_do(
    make_box: BoxFactory,
) -> None:
    box: Container = make_box(seed=False)
    rows = list(demo_rows(INDEXES))
    box.ingestor.ingest(rows)
    keys = {f"{r.data['kind']}:{r.data['id']}" for r in rows if r.data}
    needs = sorted(k for k in keys if k.startswith("need:"))
    payloads = box.index.get(needs)
    queries = [need_query(payloads[k]["record"], 4000) for k in needs]
    prepared = box.matcher.prepare(queries)
    assert len(prepared) > 10
    top = 10
    graded = box.matcher.reverse_graded([(p, keys) for p in prepared], top)
    sections: set[str] = set()
    confidences: set[str] = set()
    for ready, found in zip(prepared, graded, strict=True):
        lean = [(c.key, s, c.score, c.similarity, g) for s, c, g in found]
        assert lean == _through_hits(box.matcher, ready, keys, top)
        assert all("record" in c.payload for _, c, _ in found)  # read whole
        sections |= {s for _, s, *_ in lean}
        confidences |= {g for *_, g in lean}
    assert sections == {"solutions", "peers", "funders"}
    assert {"weak", "possible"} <= confidences
