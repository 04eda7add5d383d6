"""A webhook receiver on loopback, as an integrator would write one: it checks the signature
with the subscription's secret, drops repeats by delivery id, and can be told to fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from simatch.alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER, verify


@dataclass
class Receiver:
    url: str
    secrets: dict[str, str] = field(default_factory=dict)  # subscription id -> secret
    fail_next: list[int] = field(default_factory=list)  # statuses to answer, in order
    requests: list[dict[str, Any]] = field(default_factory=list)  # every request seen
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # delivery id -> body
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Each request waits up to ``hold`` seconds until ``crowd`` requests are open together (a
    # slow receiver); ``most_at_once``: the most requests it has had open together.
    hold: float = 0.0
    crowd: int = 2
    open_now: int = 0
    most_at_once: int = 0
    company: threading.Condition = field(default_factory=threading.Condition)

    def items(self) -> list[dict[str, Any]]:
        return [item for body in self.accepted.values() for item in body["items"]]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            with state.company:
                state.open_now += 1
                state.most_at_once = max(state.most_at_once, state.open_now)
                state.company.notify_all()
                if state.hold:
                    state.company.wait_for(lambda: state.open_now >= state.crowd, state.hold)
            try:
                status = self._judge()
            finally:
                # Counted out before the answer goes: once it is out, a one-at-a-time sender
                # posts its next request at once, which must not find this one still open.
                with state.company:
                    state.open_now -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _judge(self) -> int:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                body = json.loads(raw)
                state.requests.append({"body": body, "delivery": self.headers.get(DELIVERY_HEADER)})
                secret = state.secrets.get(body.get("subscription_id", ""), "")
                if not verify(secret, raw, self.headers.get(SIGNATURE_HEADER)):
                    state.bad_signatures += 1
                    status = 401
                elif state.fail_next:
                    status = state.fail_next.pop(0)
                else:
                    # A repeat of a delivery already taken is answered 200 and not kept twice.
                    state.accepted.setdefault(str(self.headers.get(DELIVERY_HEADER)), body)
                    status = 200
            return status

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
