"""Near-duplicate detection at ingest (lexical, so the fake embedder will do) and its store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simatch.config import IngestEnvSettings, TextSettings
from simatch.domain.records import parse_record
from simatch.evaluation.duplicates import all_scores
from simatch.ingest.demo import demo_rows as all_demo_rows
from simatch.ingest.duplicates import duplicate_score, fact_overlap, numbers
from simatch.ingest.readers import RawRow
from simatch.ingest.report import DuplicateFlag
from simatch.stores.sqlite.duplicates import SqliteDuplicateStore
from simatch.text.analyzer import LexicalAnalyzer
from tests.conftest import REPO, ContainerFactory

DEMO = Path(__file__).resolve().parents[2] / "indexes" / "demo" / "innovations.jsonl"
# Two descriptions of one practice (fi/en) and one close but different practice.
TWINS = ("inn-fi-025", "inn-en-017")
CLOSE = ("inn-fi-047", "inn-fi-029", "inn-en-019", "inn-fi-001")


def demo_rows(ids: tuple[str, ...]) -> list[RawRow]:
    found = {}
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data["id"] in ids:
            found[data["id"]] = data
    return [RawRow("demo", n, found[i]) for n, i in enumerate(ids, start=1)]


def test_numbers_are_facts_in_any_language() -> None:
    assert numbers("noin 3 000 asukasta, 90 nuorta, 2,5 vuotta") == {"3000", "90", "2.5"}
    assert numbers("about 3,000 residents and 90 young people, 2.5 years") == {
        "3000",
        "90",
        "2.5",
    }
    assert fact_overlap(frozenset({"1", "2"}), frozenset({"2", "3"})) == pytest.approx(1 / 3)
    assert fact_overlap(frozenset(), frozenset()) == 0.0
    assert duplicate_score(0.6, 1.0) == 0.6
    assert duplicate_score(0.6, 0.0) == 0.3


def test_twins_in_one_batch_are_flagged_and_stored(make_container: ContainerFactory) -> None:
    box = make_container()
    box.settings.ingest = IngestEnvSettings(duplicate_threshold=0.39)
    report = box.ingestor.ingest(demo_rows(TWINS + CLOSE))
    assert report.added == 6
    pairs = {frozenset((f.key, f.other)) for f in report.duplicates}
    assert pairs == {frozenset(f"innovation:{i}" for i in TWINS)}
    assert report.duplicates[0].score >= 0.39
    stored = box.duplicates.list()
    assert [{p.a, p.b} for p in stored] == [{f"innovation:{i}" for i in TWINS}]


def test_without_a_threshold_nothing_is_checked(make_container: ContainerFactory) -> None:
    box = make_container()
    box.settings.ingest = IngestEnvSettings(duplicate_threshold=None)
    assert box.ingestor.ingest(demo_rows(TWINS)).duplicates == []


def test_demo_duplicate_scores_are_the_same_with_translation_tables(
    make_container: ContainerFactory, tmp_path: Path, translation_tables: Path
) -> None:
    """The tables only save work: every demo record analysed as a question (what the check
    searches with) is the same to the last bit, and so is every pair's score."""
    records = list(all_demo_rows(REPO / "indexes"))
    analysed, scores = {}, {}
    for name, tables in (("tables", translation_tables), ("live", None)):
        box = make_container(data_dir=tmp_path / name)
        box.settings.text = TextSettings(translation_table_dir=tables)
        box.settings.ingest = IngestEnvSettings(duplicate_threshold=None)
        analyzer = box.analyzer
        assert isinstance(analyzer, LexicalAnalyzer)
        assert [d.uses_table for d in analyzer.dictionaries.values()] == [tables is not None] * 2
        assert box.ingestor.ingest(records).added == len(records)
        analysed[name] = []
        for row in records:
            text = parse_record(dict(row.data or {})).search_text()
            language = analyzer.detect_language(text)  # as the ingest does without one given
            analysed[name].append(analyzer.analyse_query(text, language))
        scores[name] = [(f.key, f.other, f.score) for f in all_scores(box)]
    for with_table, live in zip(analysed["tables"], analysed["live"], strict=True):
        assert with_table == live
        assert list(with_table.translations.items()) == list(live.translations.items())
    assert sum(len(terms.translations) for terms in analysed["live"]) > 5000
    assert scores["tables"] == scores["live"]
    assert len(scores["live"]) > 100  # every lexical neighbour is scored, not just twins


def test_store_replaces_flags_of_reimported_records() -> None:
    store = SqliteDuplicateStore(None)
    store.replace(["a", "b"], [DuplicateFlag(key="b", other="a", score=0.5)])
    store.replace(["c"], [DuplicateFlag(key="c", other="d", score=0.9)])
    assert [(p.a, p.b, p.score) for p in store.list()] == [("c", "d", 0.9), ("a", "b", 0.5)]
    assert [p.a for p in store.list(min_score=0.6)] == ["c"]
    store.replace(["a"], [])  # re-imported, no longer a duplicate
    store.forget(["d"])
    assert store.list() == []
    store.close()
