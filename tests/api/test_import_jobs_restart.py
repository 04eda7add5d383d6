"""A real `simatch serve` SIGKILLed in the middle of a background import, then started again:
the job is failed with what it had committed, and re-running it finishes the rest without
doing anything twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import free_port
from tests.serving import run_simatch, simatch_env

ROWS = 3000


@contextmanager
def server(workdir: Path, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = (workdir / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "simatch.cli.main", "serve", "--no-demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (workdir / f"serve-{port}.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)  # reaped: a zombie would still look alive to the next start
        log.close()


def test_sigkill_mid_import_then_restart_and_retry(tmp_path: Path) -> None:
    env = simatch_env(tmp_path / "data", SIMATCH_INGEST_BATCH_SIZE="8")
    created = run_simatch("keys", "create", "--scope", "curate", "--name", "t", env=env)
    auth = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    body = "".join(
        json.dumps({"kind": "actor", "id": f"a{i}", "name": f"Yhdistys {i}",
                    "description": f"Yhdistys {i} auttaa nuoria ja ikäihmisiä kylässä {i}."}) + "\n"
        for i in range(ROWS)
    ).encode()  # fmt: skip
    with server(tmp_path, env) as (url, proc):
        answer = httpx.post(
            f"{url}/v1/records/import?background=true",
            content=body,
            headers={**auth, "Content-Type": "application/x-ndjson"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        path = answer.headers["Location"]
        location = url + path
        deadline = time.monotonic() + 60
        while True:
            job: dict[str, Any] = httpx.get(location, headers=auth).json()
            if job["progress"]["added"] > 0:
                break
            assert job["state"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    assert job["state"] == "running", "the import finished before the kill: make it longer"

    with server(tmp_path, env) as (url, _):
        failed = httpx.get(url + path, headers=auth).json()
        assert failed["state"] == "failed", failed
        assert "interrupted" in failed["error"]
        committed = failed["progress"]["added"]
        assert 0 < committed < ROWS
        retried = httpx.post(f"{url}/v1/imports/{failed['id']}/retry", headers=auth)
        assert retried.status_code == 202, retried.text
        again = url + retried.headers["Location"]
        deadline = time.monotonic() + 120
        while (done := httpx.get(again, headers=auth).json())["state"] not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, done
            time.sleep(0.2)
        assert done["state"] == "succeeded", done
        progress = done["progress"]
        # Every row once: what had landed is unchanged, the rest added, nothing twice.
        assert progress["unchanged"] >= committed
        assert progress["unchanged"] + progress["added"] == ROWS
        listed = httpx.get(f"{url}/v1/records?kind=actor&limit=1", headers=auth)
        assert listed.status_code == 200
    info = run_simatch("info", env=env)
    assert f"actor       {ROWS}" in info.stdout, info.stdout
