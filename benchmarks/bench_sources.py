"""Source sync: throughput against plain ingest of the same records, re-sync time, and the
issue 12 acceptance checks, against a loopback mock of the EU F&T portal with N topics.

Run under the CPU lock: ``flock /tmp/simatch-cpu.lock .venv/bin/python
benchmarks/bench_sources.py [--topics 2000]``. Every step runs the real ``simatch`` command
in a fresh process, each on its own data directory (and so its own embedding cache):

1. ``simatch sources sync eu-ft`` into an empty index (fetch, map, validate, embed, index);
2. the same again (nothing changed: must take < 10 % of 1 and change nothing);
3. ``simatch ingest`` of the very records 1 stored, from a JSONL file, into an empty index;
4. a sync killed (SIGKILL) half way and run again, on a copy of 1's embedding cache: its
   index must equal 1's;
5. a sync whose source fails half way: nothing withdrawn;
6. ``simatch match --json``: synced calls in funders with deadline, days left and provenance,
   never a closed one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.mocks.euft import CLOSED, PATH, EuftService, make_topics  # noqa: E402
from tests.mocks.http import MockServer, Response  # noqa: E402


def env(data_dir: Path, url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
    return clean | {
        "SIMATCH_DATA_DIR": str(data_dir),
        "SIMATCH_EUFT_URL": url,
        "SIMATCH_SOURCE_PAGE_DELAY": "0",
        "SIMATCH_SOURCE_BACKOFF": "0",
        "SIMATCH_SOURCE_RETRIES": "1",
    }


def simatch(*args: str, environ: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "simatch.cli.main", *args],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    return time.perf_counter() - started, done


def last_sync(environ: dict[str, str]) -> dict[str, Any]:
    _, done = simatch("sources", "status", "--json", environ=environ)
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    result: dict[str, Any] = rows["eu-ft"]["last_sync"]
    return result


def index_state(data_dir: Path) -> dict[str, Any]:
    from simatch.config import IndexSettings, Settings
    from simatch.domain.ports import SearchFilter
    from simatch.wiring import Container

    box = Container(Settings(index=IndexSettings(data_dir=data_dir)))
    try:
        state: dict[str, Any] = {}
        cursor = None
        while True:
            hits, cursor = box.index.scroll(SearchFilter(), 256, cursor)
            for hit in hits:
                record = dict(hit.payload["record"])
                record.pop("fetched_at", None)
                state[hit.key] = record
            if cursor is None:
                return state
    finally:
        box.close()


def check(condition: bool, what: str) -> None:
    print(f"  {'ok  ' if condition else 'FAIL'} {what}", flush=True)
    if not condition:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    topics = make_topics(args.topics, date.today())
    closed = {t["metadata"]["identifier"][0] for t in topics if t["metadata"]["status"] == [CLOSED]}
    service = EuftService(topics)
    print(f"{len(topics)} topics served ({len(closed)} closed), work dir {work}", flush=True)
    with MockServer(service) as server:
        url = server.base_url + PATH
        first_env = env(work / "sync", url)

        first_s, done = simatch("sources", "sync", "eu-ft", environ=first_env)
        check(done.returncode == 0, f"first sync ok: {done.stdout.strip()[-300:]}")
        first = last_sync(first_env)
        imported = first["counts"]["added"]
        print(f"first sync: {first_s:.1f} s, {imported} calls, {imported / first_s:.2f} calls/s")

        second_s, done = simatch("sources", "sync", "eu-ft", environ=first_env)
        second = last_sync(first_env)["counts"]
        print(f"second sync: {second_s:.2f} s ({second_s / first_s:.1%} of the first)")
        check(
            second["added"] == second["updated"] == second["withdrawn"] == second["embedded"] == 0,
            f"second sync changed nothing: {second}",
        )
        check(second_s < 0.1 * first_s, "second sync under 10 % of the first")

        stored = index_state(work / "sync")
        check(not closed & {k.split(":", 1)[1] for k in stored}, "no closed topic imported")
        records_file = work / "records.jsonl"
        with records_file.open("w", encoding="utf-8") as out:
            for record in stored.values():
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        ingest_s, done = simatch(
            "ingest", str(records_file), environ=env(work / "ingest", "http://127.0.0.1:9/")
        )
        check(done.returncode == 0, "plain ingest of the same records ok")
        print(
            f"plain ingest: {ingest_s:.1f} s, {len(stored)} records, "
            f"{len(stored) / ingest_s:.2f} records/s; sync/ingest throughput "
            f"{(imported / first_s) / (len(stored) / ingest_s):.2f}"
        )

        # 4. SIGKILL half way, then again: the same index as one clean sync.
        killed_dir = work / "killed"
        killed_dir.mkdir()
        shutil.copy(work / "sync" / "embedding-cache.sqlite", killed_dir)
        killed_env = env(killed_dir, url)
        service.delay = 0.3
        before = len(server.requests)
        process = subprocess.Popen(
            [sys.executable, "-m", "simatch.cli.main", "sources", "sync", "eu-ft"],
            env=killed_env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pages = -(-len(stored) // 100)
        # Once page k+1 is asked for, page k has landed: kill there, half way.
        while len(server.requests) - before < max(2, pages // 2 + 1):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        service.delay = 0.0
        half = len(index_state(killed_dir))
        rerun_s, done = simatch("sources", "sync", "eu-ft", environ=killed_env)
        check(done.returncode == 0, f"killed at {half} records, run again in {rerun_s:.1f} s")
        check(index_state(killed_dir) == stored, "same index as one clean sync")

        # 5. A source failing half way withdraws nothing.
        service.faults[2] = [Response(500, {}) for _ in range(5)]  # later pages never come
        _, done = simatch("sources", "sync", "eu-ft", environ=first_env)
        failed = last_sync(first_env)
        check(done.returncode == 1 and failed["status"] == "failed", f"{failed['error']}")
        check(failed["counts"]["withdrawn"] == 0, "a failed sync withdrew nothing")
        service.faults = {}

    # 6. Matching finds the synced calls with deadline, days left and provenance.
    _, done = simatch(
        "match",
        "--json",
        "--limit",
        "5",
        "Loneliness of older people living alone",
        environ=first_env,
    )
    funders = [f for f in json.loads(done.stdout)["funders"] if f["kind"] == "call"]
    check(bool(funders), f"{len(funders)} calls in funders")
    for item in funders:
        check(
            item["deadline"] is not None
            and item["days_to_deadline"] >= 0
            and item["provenance"]["source"] == "eu-ft"
            and item["provenance"]["url"].endswith(item["id"])
            and item["id"] not in closed,
            f"{item['id']}: deadline {item['deadline']} ({item['days_to_deadline']} d), "
            f"{item['provenance']['url']}",
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
