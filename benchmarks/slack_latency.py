"""Slack latency: from a signed app_mention event to the Web API receiving chat.postMessage.

Runs the simatch app (real model, demo data) under uvicorn on loopback, with a local mock of
the Slack Web API, sends signed events one at a time and reports p50/p95. Loopback only,
bounded in count and time; it stops by itself.

    .venv/bin/python benchmarks/slack_latency.py --events 40
    .venv/bin/python benchmarks/slack_latency.py --data-dir /tmp/simatch-bench  # reuse the index
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn

SECRET = "bench-signing-secret"
QUESTIONS = [
    "Nuoret kokevat yksinäisyyttä pienellä paikkakunnalla, eikä heillä ole paikkaa kokoontua",
    "Older people living alone at home are lonely and have nobody to talk to",
    "Maahanmuuttajanaiset jäävät kotiin eivätkä löydä töitä tai kielikursseja",
    "Long-term unemployed young adults need support to get back to work or education",
    "Omaishoitajat uupuvat, koska he eivät saa vapaapäiviä eivätkä vertaistukea",
    "Families with children in poverty cannot afford hobbies for their kids",
    "Mielenterveyskuntoutujat tarvitsevat asumisen tukea itsenäisen elämän alussa",
    "Digital services exclude elderly people who do not use smartphones",
]


class MockSlack:
    """Answers auth.test and chat.postMessage; notes when each post arrived, per channel."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                body: dict[str, Any] = json.loads(raw) if raw.startswith(b"{") else {}
                answer: dict[str, Any] = {"ok": True, "user_id": "UBOT", "bot_id": "BBOT"}
                if self.path.endswith("chat.postMessage"):
                    answer["ts"] = f"{time.time():.6f}"
                    with mock.cond:
                        mock.arrived.setdefault(str(body.get("channel")), now)
                        mock.cond.notify_all()
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, channel: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while channel not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrived[channel]


def signed_event(channel: str, text: str) -> tuple[bytes, dict[str, str]]:
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "user": "U1", "text": f"<@UBOT> {text}", "ts": ts,
             "channel": channel, "event_ts": ts}  # fmt: skip
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                       "event_id": f"Ev{uuid.uuid4().hex}", "event": event}).encode()  # fmt: skip
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": "v0=" + digest.hexdigest()}  # fmt: skip
    return body, headers


def build_app(data_dir: Path, api_url: str) -> Any:
    os.environ.update(
        SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET, SIMATCH_SLACK_API_URL=api_url
    )
    from simatch.api.app import create_app
    from simatch.config import IndexSettings, Settings
    from simatch.wiring import Container

    container = Container(Settings(index=IndexSettings(data_dir=data_dir)))
    started = time.perf_counter()
    report = container.import_service.load_demo()
    print(f"index: {report.added} added, {report.unchanged} unchanged, "
          f"{time.perf_counter() - started:.1f} s ({container.embedder.model_id})")  # fmt: skip
    return create_app(container, warm=True), container


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=40, help="measured events (max 500)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per event")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop after this long")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temporary dir")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    events = max(1, min(args.events, 500))

    mock = MockSlack()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="simatch-bench-"))
    app, container = build_app(data_dir, mock.url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/slack/events"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)

    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + args.max_seconds
    with httpx.Client(timeout=args.timeout) as client:
        for n in range(args.warmup + events):
            if time.monotonic() > stop_at:
                print("stopped: --max-seconds reached")
                break
            channel = f"CBENCH{n:04d}"
            body, headers = signed_event(channel, QUESTIONS[n % len(QUESTIONS)])
            sent = time.perf_counter()
            response = client.post(url, content=body, headers=headers)
            arrived = mock.wait(channel, args.timeout) if response.status_code == 200 else None
            if n < args.warmup:
                continue
            if arrived is None:
                failures += 1
            else:
                latencies.append((arrived - sent) * 1000)

    server.should_exit = True
    thread.join(10)
    container.close()
    mock.server.shutdown()
    if args.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    if not latencies:
        raise SystemExit("no event was answered")
    figures = {
        "events": len(latencies),
        "failures": failures,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(", ".join(f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
