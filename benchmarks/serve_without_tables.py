"""`simatch serve` started without its translation tables (issue 11): the fresh start's demo
load, and matches while the server builds the tables in the background, against a fresh
start with current tables, in one run.

    .venv/bin/python benchmarks/serve_without_tables.py

Each arm: a new data dir (the demo data loaded on start, real model), matches one at a time
for ``--seconds`` once ready. With tables: all idle. Without: split at the moment the built
table appears (matches during the build, then after it).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import commit
from import_under_load import pct
from load_api import QUERIES, free_port, wait_ready


def run_arm(work: Path, name: str, tables: Path, seconds: float) -> dict[str, object]:
    data_dir = work / f"data-{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
    env |= {
        "SIMATCH_DATA_DIR": str(data_dir),
        "SIMATCH_TRANSLATION_TABLE_DIR": str(tables),
        "SIMATCH_RATE_LIMIT_PER_CLIENT": "0",
        "SIMATCH_RATE_LIMIT_PER_KEY": "0",
        "SIMATCH_LOG_LEVEL": "INFO",
        "SIMATCH_LOG_JSON": "false",
    }
    had_tables = any(tables.glob("translations-*.tsv"))
    port = free_port()
    log_path = work / f"serve-{name}.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "simatch.cli.main", "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    during: list[float] = []
    after: list[float] = []
    errors = 0
    try:
        ready = wait_ready(base, server, 300)
        with httpx.Client(base_url=base, timeout=60) as client:
            client.post("/v1/match", json={"text": QUERIES[0], "limit": 5})  # the first is slow
            started = time.monotonic()
            n = 0
            built = had_tables
            while time.monotonic() - started < seconds:
                if not built and n % 5 == 0:
                    built = len(list(tables.glob("translations-*.tsv"))) >= 2
                text = QUERIES[n % len(QUERIES)]
                n += 1
                t = time.perf_counter()
                response = client.post("/v1/match", json={"text": text, "limit": 5})
                (after if built else during).append((time.perf_counter() - t) * 1000)
                if response.status_code != 200:
                    errors += 1
    finally:
        server.terminate()
        server.wait(30)
    log_text = log_path.read_text(errors="replace")
    demo = re.search(r"embedded (\d+), ([\d.]+) s", log_text)
    build = re.search(r"translation tables built in ([\d.]+) s", log_text)
    return {
        "name": name,
        "ready": ready,
        "demo_s": float(demo.group(2)) if demo else None,
        "build_s": float(build.group(1)) if build else None,
        "during": during,
        "after": after,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=45)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="simatch-serve-tables-"))
    current = work / "tables"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "simatch.text.build_tables", "--dir", str(current)], check=True
    )
    build_alone = time.perf_counter() - started
    print(f"\n# serve without tables, commit {commit()}, {os.cpu_count()} cores")
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    print(f"tables built alone (normal priority, nothing else running): {build_alone:.1f} s\n")
    arms = [
        run_arm(work, "with", current, args.seconds),
        run_arm(work, "without", work / "empty", args.seconds),
    ]
    print("| fresh start | ready s | demo import s | tables built in background s |")
    print("|---|---|---|---|")
    for arm in arms:
        demo, build = arm["demo_s"], arm["build_s"]
        print(
            f"| {arm['name']} tables | {arm['ready']:.1f} | "
            f"{'-' if demo is None else f'{demo:.1f}'} | {'-' if build is None else build} |"
        )
    print("\n| matches | n | errors | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for arm in arms:
        for part in ("during", "after"):
            times = arm[part]
            assert isinstance(times, list)
            if not times:
                continue
            label = {
                ("with", "after"): "with tables (idle)",
                ("without", "during"): "without: while the tables are built",
                ("without", "after"): "without: after the build",
            }[(str(arm["name"]), part)]
            print(
                f"| {label} | {len(times)} | {arm['errors']} | {pct(times, 50):.1f} | "
                f"{pct(times, 95):.1f} |"
            )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
