"""The ``simatch`` command end to end (fake embedder, real index), in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simatch.cli.main import app
from simatch.wiring import Container
from tests.ingest.test_pipeline import GOOD, write_jsonl

runner = CliRunner()


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIMATCH_EMBEDDING_BACKEND", "fake")
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_ingest_reports_rejections_with_exit_status_1(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [*GOOD, '{"kind": "call", "id": "x"'])
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 1, result.output
    assert "added 4" in result.output
    assert "mixed.jsonl:5" in result.output
    again = runner.invoke(app, ["ingest", "--json", str(write_jsonl(tmp_path / "g.jsonl", GOOD))])
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert (report["added"], report["unchanged"], report["embedded"]) == (0, 4, 0)


def test_match_json_and_batch(tmp_path: Path) -> None:
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "g.jsonl", GOOD))])
    result = runner.invoke(app, ["match", "--json", "--limit", "3", "Nuorten yksinäisyys"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"query", "solutions", "peers", "funders"}
    assert data["solutions"][0]["id"] == "i1"
    assert data["funders"][0]["deadline"] == "2099-01-31"

    batch = tmp_path / "queries.txt"
    batch.write_text('Nuorten yksinäisyys\n{"text": "Kyläyhdistys", "limit": 1}\n\n')
    out = runner.invoke(app, ["match", "--json", "--batch", str(batch)])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert len(lines) == 2
    assert len(lines[1]["peers"]) <= 1


def test_match_human_output_and_delete(tmp_path: Path) -> None:
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "g.jsonl", GOOD))])
    shown = runner.invoke(app, ["match", "Nuorten yksinäisyys"])
    assert "Ratkaisut" in shown.output and "Nuorisotila kylälle" in shown.output
    gone = runner.invoke(app, ["delete", "i1"])
    assert gone.exit_code == 0 and "deleted 1" in gone.output
    missing = runner.invoke(app, ["delete", "i1"])
    assert missing.exit_code == 1


def test_bad_settings_are_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMATCH_QDRANT_API_KEY", "secret")
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 2
    assert "SIMATCH_QDRANT_URL" in result.output


def test_match_json_carries_a_match_id_and_is_logged_like_the_apis(tmp_path: Path) -> None:
    runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "g.jsonl", GOOD))])
    result = runner.invoke(app, ["match", "--json", "Nuorten yksinäisyys"])
    assert result.exit_code == 0, result.output
    match_id = json.loads(result.output)["match_id"]
    assert isinstance(match_id, str) and len(match_id) == 32
    box = Container()  # the same data dir: feedback can name the CLI's match
    try:
        logged = box.feedback_store.get_match(match_id)
        assert logged is not None and logged.items
    finally:
        box.close()


def test_match_limit_obeys_the_configured_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMATCH_MATCH_MAX_LIMIT", "10")
    result = runner.invoke(app, ["match", "--limit", "11", "Nuorten yksinäisyys"])
    assert result.exit_code == 2
    assert "at most 10" in result.output


def test_ingest_and_demo_are_refused_while_a_background_import_writes(tmp_path: Path) -> None:
    from simatch.services.import_jobs import LOCK

    path = write_jsonl(tmp_path / "g.jsonl", GOOD)
    job_side = Container()  # another process's job, as the lock sees it (same data dir)
    try:
        with job_side.locks.exclusive(LOCK) as taken:
            assert taken
            for args in (["ingest", str(path)], ["demo"]):
                refused = runner.invoke(app, args)
                assert refused.exit_code == 2, refused.output  # an error, not rejected rows
                assert "background import" in " ".join(refused.output.split())
        assert runner.invoke(app, ["ingest", str(path)]).exit_code == 0  # once it finished
    finally:
        job_side.close()
    listed = runner.invoke(app, ["match", "--json", "Nuorten yksinäisyys"])
    assert listed.exit_code == 0 and '"i1"' in listed.output
