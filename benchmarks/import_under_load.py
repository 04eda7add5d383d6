"""Matches while a background import runs (issue 11): `simatch serve` with the real model
and the demo data; POST /v1/match one at a time, first idle, then while a background import
of 5,000 records runs (`POST /v1/records/import?background=true`). Reports p50/p95 of both,
the errors, and the import's own time and throughput.

    SIMATCH_EVALDATA=/work/shared/evaldata .venv/bin/python benchmarks/import_under_load.py
    .venv/bin/python benchmarks/import_under_load.py --records 500      # a short smoke run

Records are Tatoeba and Turku sentences (read from the shared evaluation data) as
innovations, needs and actors; a data dir of its own, so nothing comes from a cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import commit, sentence_rows
from load_api import QUERIES, free_port, wait_ready


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def matches(
    client: httpx.Client, seconds: float, until_done: str | None = None
) -> tuple[list[float], int]:
    """Latencies (ms) of matches one after another for ``seconds``, or while the job at
    ``until_done`` runs; and the number of errors."""
    times: list[float] = []
    errors = 0
    started = time.monotonic()
    n = 0
    while True:
        if until_done is None and time.monotonic() - started > seconds:
            break
        if until_done is not None and n % 10 == 0:
            state = client.get(until_done).json()["state"]
            if state not in ("queued", "running"):
                break
        text = QUERIES[n % len(QUERIES)]
        n += 1
        t = time.perf_counter()
        response = client.post("/v1/match", json={"text": text, "limit": 5})
        times.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            errors += 1
    return times, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=0, help="Default: a free one.")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="simatch-import-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
    env |= {
        "SIMATCH_DATA_DIR": str(data_dir),
        "SIMATCH_RATE_LIMIT_PER_CLIENT": "0",
        "SIMATCH_RATE_LIMIT_PER_KEY": "0",
        "SIMATCH_LOG_LEVEL": "WARNING",
    }
    created = subprocess.run(
        [sys.executable, "-m", "simatch.cli.main", "keys", "create", "-s", "curate", "-n", "b"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    body = "".join(json.dumps(r.data) + "\n" for r in sentence_rows(args.records)).encode()
    port = args.port or free_port()
    with (data_dir / "serve.log").open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "simatch.cli.main", "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(base, server, 300)
        with httpx.Client(base_url=base, timeout=60) as client:
            matches(client, 3)  # warm up
            idle, idle_errors = matches(client, args.idle_seconds)
            auth = {"Authorization": f"Bearer {token}"}
            client.headers.update(auth)
            started = time.monotonic()
            answer = client.post(
                "/v1/records/import?background=true",
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert answer.status_code == 202, answer.text
            location = answer.headers["Location"]
            busy, busy_errors = matches(client, 0, until_done=location)
            while (job := client.get(location).json())["state"] in ("queued", "running"):
                time.sleep(0.2)
            took = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(30)
    print(
        f"# import under load, commit {commit()}, {os.cpu_count()} cores; ready in {ready:.0f} s\n"
    )
    print("| matches | n | errors | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for name, times, errors in (
        ("idle", idle, idle_errors),
        ("during the import", busy, busy_errors),
    ):
        print(f"| {name} | {len(times)} | {errors} | {pct(times, 50):.1f} | {pct(times, 95):.1f} |")
    p = job["progress"]
    print(
        f"\nimport: {job['state']}, {p['read']} rows, {p['added']} added in {took:.1f} s "
        f"({p['added'] / took:.1f} records/s); p95 ratio {pct(busy, 95) / pct(idle, 95):.2f} "
        "(target <= 2)"
    )


if __name__ == "__main__":
    main()
