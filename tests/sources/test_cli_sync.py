"""`simatch sources ...` and `simatch match` against the EU F&T mock; a sync killed half way
(SIGKILL) and run again ends with the index of one clean sync."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from simatch.cli.main import app
from simatch.config import EmbeddingSettings, IndexSettings, Settings
from simatch.domain.ports import SearchFilter
from simatch.wiring import Container
from tests.mocks.euft import PATH, EuftService, make_topics
from tests.mocks.http import MockServer
from tests.sources.data import TODAY, eu_topics

runner = CliRunner()


def sync_env(data_dir: Path, url: str) -> dict[str, str]:
    return {
        "SIMATCH_DATA_DIR": str(data_dir),
        "SIMATCH_EUFT_URL": url,
        "SIMATCH_SOURCE_BACKOFF": "0",
        "SIMATCH_SOURCE_PAGE_DELAY": "0",
    }


@pytest.fixture
def mock_url() -> Iterator[str]:
    with MockServer(EuftService(eu_topics(), page_cap=3)) as server:
        yield server.base_url + PATH


def test_sync_status_and_match_from_the_command_line(
    tmp_path: Path, mock_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in sync_env(tmp_path / "data", mock_url).items():
        monkeypatch.setenv(name, value)

    synced = runner.invoke(app, ["sources", "sync", "eu-ft"])
    assert synced.exit_code == 0, synced.output
    assert "eu-ft ok" in synced.output
    assert "added 5" in synced.output and "rejected 1" in synced.output
    assert "rejected ESF-SOCPL-2027-BAD-07: deadline: Field required" in synced.output

    status = runner.invoke(app, ["sources", "status", "--json"])
    rows = {row["name"]: row for row in json.loads(status.output)}
    assert rows["eu-ft"]["calls"] == 5
    assert rows["eu-ft"]["last_sync"]["counts"]["added"] == 5

    again = runner.invoke(app, ["sources", "sync", "--all", "--json"])
    run = json.loads(again.output.splitlines()[0])
    assert run["status"] == "ok" and run["counts"]["unchanged"] == 5

    found = runner.invoke(app, ["match", "--json", "Loneliness of older people living alone"])
    funders = json.loads(found.output)["funders"]
    call = next(f for f in funders if f["id"] == "ESF-SOCPL-2027-INNOV-01")
    assert call["deadline"] and call["days_to_deadline"] == 60
    assert call["provenance"]["source"] == "eu-ft"
    assert call["provenance"]["url"].endswith("/topic-details/ESF-SOCPL-2027-INNOV-01")
    shown = runner.invoke(app, ["match", "Loneliness of older people living alone"])
    assert "from eu-ft (ESF-SOCPL-2027-INNOV-01)" in shown.output

    none = runner.invoke(app, ["sources", "withdrawn"])
    assert none.exit_code == 0 and "no withdrawn calls" in none.output

    unknown = runner.invoke(app, ["sources", "sync", "nowhere"])
    assert unknown.exit_code == 2 and "no source 'nowhere'" in unknown.output
    assert runner.invoke(app, ["sources", "sync"]).exit_code == 2


def test_a_failed_sync_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in sync_env(tmp_path / "data", "http://127.0.0.1:9/x").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SIMATCH_SOURCE_RETRIES", "0")
    result = runner.invoke(app, ["sources", "sync", "eu-ft"])
    assert result.exit_code == 1 and "failed" in result.output
    assert "eu-ft page 1: failed after 1 attempts" in result.output


def index_state(data_dir: Path) -> dict[str, Any]:
    """Every record as stored, without when it was fetched."""
    settings = Settings(index=IndexSettings(data_dir=data_dir), embedding=EmbeddingSettings())
    box = Container(settings)
    try:
        state = {}
        cursor = None
        while True:
            hits, cursor = box.index.scroll(SearchFilter(), 100, cursor)
            for hit in hits:
                record = dict(hit.payload["record"])
                record.pop("fetched_at")
                state[hit.key] = (hit.payload["content_hash"], record)
            if cursor is None:
                return state
    finally:
        box.close()


def run_sync(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "simatch.cli.main", "sources", "sync", "eu-ft"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_killed_sync_run_again_ends_like_one_clean_sync(tmp_path: Path) -> None:
    service = EuftService(make_topics(24, TODAY), page_cap=3)
    with MockServer(service) as server:
        url = server.base_url + PATH
        clean = run_sync(sync_env(tmp_path / "clean", url))
        out, _ = clean.communicate(timeout=300)
        assert clean.returncode == 0, out.decode()
        # The same embeddings (a kill is about state, not the model): copy the clean cache.
        (tmp_path / "killed").mkdir()
        shutil.copy(
            tmp_path / "clean" / "embedding-cache.sqlite",
            tmp_path / "killed" / "embedding-cache.sqlite",
        )

        service.delay = 0.3
        killed_env = sync_env(tmp_path / "killed", url)
        process = run_sync(killed_env)
        requests_before = len(server.requests)
        deadline = time.monotonic() + 120
        while len(server.requests) - requests_before < 5:  # half way through 9 pages
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        half = index_state(tmp_path / "killed")
        service.delay = 0.0
        rerun = run_sync(killed_env)
        out, _ = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, out.decode()

    killed, once = index_state(tmp_path / "killed"), index_state(tmp_path / "clean")
    assert 0 < len(half) < len(once)  # it was killed half way
    assert killed == once and len(once) > 10
    assert all(record["withdrawn_at"] is None for _, record in once.values())
    status = subprocess.run(
        [sys.executable, "-m", "simatch.cli.main", "sources", "status", "--json"],
        env={**os.environ, **killed_env},
        capture_output=True,
        check=True,
    )
    last = json.loads(status.stdout)[0]["last_sync"]
    assert last["status"] == "ok" and last["counts"]["withdrawn"] == 0
