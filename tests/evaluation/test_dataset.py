"""The evaluation format loader, on small files and on the project's own set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simatch.evaluation.dataset import EvalFormatError, load_eval_set, load_queries, project_set
from simatch.evaluation.retrieval import pair_metrics
from simatch.evaluation.thresholds import Failure, check, lookup

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def records(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    folder.mkdir()
    write(
        folder / "innovations.jsonl",
        [
            {"kind": "innovation", "id": "i-fi", "language": "fi", "title": "T", "summary": "S"},
            {"kind": "innovation", "id": "i-en", "language": "en", "title": "T", "summary": "S"},
        ],
    )
    return folder


def test_queries_and_records_load(tmp_path: Path, records: Path) -> None:
    queries = write(
        tmp_path / "q.jsonl",
        [
            {
                "qid": "q1",
                "fi": "kysymys",
                "en": "question",
                "relevant": ["i-fi", "i-en"],
                "kinds": ["innovation"],
            },
            {"qid": "q2", "en": "nothing", "relevant": []},
        ],
    )
    loaded = load_eval_set(queries, records)
    assert [q.qid for q in loaded.queries] == ["q1", "q2"]
    first, second = loaded.queries
    assert first.texts == {"fi": "kysymys", "en": "question"}
    assert first.kinds == ("innovation",)
    assert first.answerable and not second.answerable
    assert second.kinds == ("innovation", "need", "call", "actor")  # default: all judged
    assert loaded.languages == {"i-fi": "fi", "i-en": "en"}
    assert len(list(loaded.rows())) == 2
    assert [q.qid for q in loaded.subset(0).queries] == ["q2"]  # no-match questions stay


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"fi": "x"}, "qid"),
        ({"qid": "q", "relevant": []}, "no query text"),
        ({"qid": "q", "fi": "x", "kinds": ["plan"]}, "unknown kinds"),
        ({"qid": "q", "fi": "x", "relevant": "i-fi"}, "lists"),
    ],
)
def test_bad_query_lines_name_file_and_line(
    tmp_path: Path, row: dict[str, object], message: str
) -> None:
    path = write(tmp_path / "q.jsonl", [{"qid": "ok", "fi": "x"}, row])
    with pytest.raises(EvalFormatError, match=message) as info:
        load_queries(path)
    assert "q.jsonl:2" in str(info.value)


def test_relevant_ids_must_exist(tmp_path: Path, records: Path) -> None:
    queries = write(tmp_path / "q.jsonl", [{"qid": "q1", "fi": "x", "relevant": ["nope"]}])
    with pytest.raises(EvalFormatError, match="nope"):
        load_eval_set(queries, records)


def test_the_project_set_is_complete() -> None:
    loaded = project_set(REPO / "indexes")
    assert len(loaded.queries) == 88
    assert sum(not q.answerable for q in loaded.queries) == 8
    assert all(set(q.texts) == {"fi", "en"} for q in loaded.queries)


def test_pair_metrics_restrict_relevance_to_the_target_language(
    tmp_path: Path, records: Path
) -> None:
    from simatch.evaluation.dataset import EvalQuery
    from simatch.evaluation.retrieval import Ranked

    query = EvalQuery("q", {"fi": "x", "en": "y"}, frozenset({"i-fi", "i-en"}), ("innovation",))

    def ranked(language: str, ids: list[str]) -> Ranked:
        return Ranked(query, language, [_scored(i) for i in ids])

    report = pair_metrics(
        [ranked("fi", ["i-fi", "x", "y", "z", "w", "i-en"]), ranked("en", ["i-en", "i-fi"])],
        {"i-fi": "fi", "i-en": "en"},
    )
    assert report["fi→fi"]["recall@1"] == 1.0
    assert report["fi→en"]["recall@5"] == 0.0 and report["fi→en"]["recall@10"] == 1.0
    assert report["en→fi"]["mrr"] == 0.5
    assert report["all"]["n"] == 2


def test_threshold_check_reports_drops_and_missing_figures() -> None:
    report = {"demo": {"fused": {"recall@5": 0.8}}, "turku": {"roc_auc": 0.96}}
    assert lookup(report, "demo.fused.recall@5") == 0.8
    failures = check(
        report,
        {
            "demo.fused.recall@5": 0.85,
            "demo.fused.mrr": 0.5,
            "turku.roc_auc": 0.95,
            "tatoeba.fi→en.top1": 0.8,
        },
    )
    assert failures == [
        Failure("demo.fused.mrr", None, 0.5),
        Failure("demo.fused.recall@5", 0.8, 0.85),
    ]  # tatoeba was not run: not checked


def _scored(record_id: str):  # type: ignore[no-untyped-def]
    from simatch.domain.matcher import Scored

    return Scored(f"innovation:{record_id}", {"id": record_id}, 1.0, 0.5, {})
