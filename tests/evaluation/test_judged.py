"""Any judged set: the record mapping, questions and their gold, the split, the baselines, and
`simatch eval --records --queries` end to end on the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simatch.cli.main import app
from simatch.evaluation.baselines import BareModel, Bm25
from simatch.evaluation.dataset import EvalFormatError
from simatch.evaluation.harness import DEFAULT_EVALDATA
from simatch.evaluation.judged import (
    in_split,
    load_judged_queries,
    map_row,
    read_records,
    split_of,
    subset,
)
from simatch.evaluation.metrics import ndcg_at
from simatch.ingest.readers import RawRow


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_simple_lines_map_to_each_kind_and_import_rows_stay() -> None:
    line = {"id": "m1", "title": "Town meeting", "text": "People meet.", "language": "it", "x": 1}
    row = RawRow("f", 1, line)
    assert map_row(row, "innovation").data == {
        "kind": "innovation",
        "id": "m1",
        "title": "Town meeting",
        "summary": "People meet.",
    }
    assert map_row(row, "actor").data == {
        "kind": "actor",
        "id": "m1",
        "name": "Town meeting",
        "description": "People meet.",
    }
    call = map_row(RawRow("f", 1, {**line, "language": "fi"}), "call").data
    assert call is not None and call["funder"] == "-" and call["language"] == "fi"
    native = RawRow("f", 2, {"kind": "need", "id": "n", "title": "T", "description": "D"})
    assert map_row(native, "innovation") is native


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", [{"id": "a", "title": "T", "text": "x"}])
    with pytest.raises(EvalFormatError, match="unknown kind"):
        list(read_records([path], "thing"))


def test_gold_is_taken_by_id_from_another_file(tmp_path: Path) -> None:
    theirs = write(tmp_path / "theirs.jsonl", [{"id": "c1", "text": "A case", "gold_ids": ["m1"]}])
    ours = write(tmp_path / "ours.jsonl", [{"id": "c1", "text": "Tapaus", "language": "fi"}])
    loaded = load_judged_queries([theirs, ours])
    assert [(q.text, q.language, set(q.gold)) for q in loaded] == [
        ("A case", None, {"m1"}),
        ("Tapaus", "fi", {"m1"}),
    ]
    orphan = write(tmp_path / "orphan.jsonl", [{"id": "c9", "text": "Ei paria"}])
    with pytest.raises(EvalFormatError, match=r"orphan.jsonl:1: no gold_ids"):
        load_judged_queries([theirs, orphan])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t", "gold_ids": []}\nnot json\n', "utf-8")
    with pytest.raises(EvalFormatError, match=r"bad.jsonl:2"):
        load_judged_queries([bad])


def test_split_is_stable_halves_and_keeps_translations_together(tmp_path: Path) -> None:
    ids = [f"case:{n}" for n in range(1000)]
    dev = sum(split_of(i) == "dev" for i in ids)
    assert 450 < dev < 550
    assert split_of("case:112") == split_of("case:112")
    rows = [{"id": i, "text": "t", "gold_ids": ["m"]} for i in ids[:50]]
    theirs = write(tmp_path / "q.jsonl", rows)
    ours = write(tmp_path / "fi.jsonl", [{"id": i, "text": "fi"} for i in ids[:50]])
    loaded = load_judged_queries([theirs, ours])
    for side in ("dev", "test"):
        chosen = in_split(loaded, side)
        by_id: dict[str, int] = {}
        for q in chosen:
            by_id[q.qid] = by_id.get(q.qid, 0) + 1
        assert set(by_id.values()) == {2}
    assert len(in_split(loaded, "dev")) + len(in_split(loaded, "test")) == 100
    assert {q.qid for q in subset(loaded, 3)} == set(ids[:3])


def test_baselines_rank_by_their_own_score() -> None:
    bare = BareModel(["a", "b"], [[1.0, 0.0], [0.6, 0.8]])
    assert [k for k, _ in bare.rank([0.0, 1.0], 2)] == ["b", "a"]
    bm25 = Bm25(["a", "b", "c"], [["kylä", "bussi"], ["bussi", "bussi", "koulu"], ["kissa"]])
    ranked = bm25.rank(["kylä", "bussi"], 10)
    assert [k for k, _ in ranked] == ["a", "b"]  # the rare term decides; "c" shares none
    assert bm25.rank(["tuntematon"], 10) == []


def test_ndcg_rewards_early_hits() -> None:
    assert ndcg_at(["a", "b"], {"a"}) == 1.0
    assert 0.6 < ndcg_at(["x", "a"], {"a"}) < 0.65
    assert ndcg_at(["x"], {"a"}) == 0.0


@pytest.mark.model
def test_eval_on_a_judged_set_reports_channels_and_baselines(
    tmp_path: Path, eval_cache: Path
) -> None:
    records = write(
        tmp_path / "records.jsonl",
        [
            {
                "id": "r1",
                "title": "Village bus",
                "text": "A volunteer bus takes elderly "
                "people from remote villages to shops and health centres.",
            },
            {
                "id": "r2",
                "title": "Homework club",
                "text": "Students help younger pupils with homework in the library after school.",
            },
            {
                "id": "r3",
                "title": "Repair café",
                "text": "Neighbours fix broken household "
                "appliances together instead of throwing them away.",
            },
            {
                "id": "r4",
                "title": "Lukupiiri",
                "text": "Maahanmuuttajanaiset lukevat suomenkielisiä kirjoja yhdessä kirjastossa.",
                "language": "fi",
            },
        ],
    )
    queries = write(
        tmp_path / "queries.jsonl",
        [
            {
                "id": "q1",
                "text": "Older people in the countryside cannot get to the shop",
                "gold_ids": ["r1"],
            },
            {"id": "q2", "text": "Children struggle with their schoolwork", "gold_ids": ["r2"]},
            {"id": "q3", "text": "Too many appliances end up as waste", "gold_ids": ["r3"]},
        ],
    )
    finnish = write(
        tmp_path / "fi.jsonl",
        [
            {"id": "q1", "text": "Maaseudun vanhukset eivät pääse kauppaan", "language": "fi"},
            {"id": "q2", "text": "Lapsilla on vaikeuksia koulutehtävien kanssa"},
        ],
    )
    result = CliRunner().invoke(
        app,
        [
            "eval", "--records", str(records), "--queries", str(queries),
            "--queries", str(finnish), "--json",
            "--workdir", str(tmp_path / "work"), "--cache", str(eval_cache),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["records"]["n"] == 4
    assert report["records"]["languages"] == {"en": 3, "fi": 1}
    assert report["queries"]["n"] == 5
    channels = report["channels"]
    assert set(channels) == {"dense", "lexical", "fused", "bare_model", "bm25"}
    for name in ("fused", "bare_model"):
        assert channels[name]["all"]["recall@5"] == 1.0, name
        assert channels[name]["fi→en"]["n"] == 2
        assert channels[name]["en→all paired"]["n"] == 2
    assert set(report["margins"]) >= {"fused_minus_best_baseline_recall@5"}
    # A rerun on the same files embeds nothing new and gives the same figures.
    again = CliRunner().invoke(
        app,
        [
            "eval", "--records", str(records), "--queries", str(queries), "--json",
            "--split", "dev", "--workdir", str(tmp_path / "work"), "--cache", str(eval_cache),
        ],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert " 0 embedded" in " ".join(again.stderr.split())
    dev = json.loads(again.stdout[again.stdout.index("{") :])
    assert dev["queries"]["n"] == sum(split_of(q) == "dev" for q in ("q1", "q2", "q3"))


def test_eval_names_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "--records", str(tmp_path / "none.jsonl"), "--queries", "x.jsonl"]
    )
    assert result.exit_code == 2
    assert "none.jsonl: no such file" in " ".join(result.output.split())


OUR_FINNISH = Path(__file__).resolve().parents[2] / "indexes/eval/participedia_fi/cases_fi.jsonl"
PARTICIPEDIA = DEFAULT_EVALDATA / "participedia_case2method"


def test_our_finnish_cases_are_finnish_and_carry_no_judgement() -> None:
    from simatch.text.language import detect_language

    lines = [json.loads(line) for line in OUR_FINNISH.read_text("utf-8").splitlines()]
    assert len(lines) >= 60
    assert len({line["id"] for line in lines}) == len(lines)
    assert all(set(line) == {"id", "text", "language"} for line in lines)
    detected = [detect_language(line["text"]) for line in lines]
    assert detected.count("fi") >= 0.95 * len(lines)


@pytest.mark.skipif(not PARTICIPEDIA.is_dir(), reason="shared/evaldata is not beside the repo")
def test_our_finnish_cases_take_the_third_partys_gold() -> None:
    loaded = load_judged_queries([PARTICIPEDIA / "queries.jsonl", OUR_FINNISH])
    english = {q.qid: q for q in loaded if q.language == "en"}
    finnish = [q for q in loaded if q.language == "fi"]
    assert len(finnish) >= 60
    assert all(q.gold == english[q.qid].gold for q in finnish)
