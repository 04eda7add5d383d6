"""The outermost middleware: request id, metrics, access log, and the last-resort 500.

It sees every request, including 404/405 and bodies refused for size, so the counters by
route template and status are complete. Unmatched paths count as ``<unmatched>`` to keep
the number of label values bounded.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simatch.api.errors import error_response
from simatch.api.logging import REQUEST_ID_HEADER, request_id, request_id_var
from simatch.api.metrics import Metrics

log = logging.getLogger("simatch.api.access")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        rid = request_id(incoming)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if response_started:
                raise
            status = 500
            response = error_response(
                500,
                "internal_error",
                "Unexpected server error; quote the request id when reporting it.",
                {"request_id": rid},
                {REQUEST_ID_HEADER: rid},
            )
            await response(scope, receive, send)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = getattr(scope.get("route"), "path", None) or "<unmatched>"
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.request_latency.labels(method, route).observe(seconds)
        client = scope.get("client")
        key_id = scope.get("state", {}).get("key_id")
        extra = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "client": client[0] if client else None,
        }
        if key_id:
            extra["key_id"] = key_id
        log.info("%s %s %s", method, route, status, extra=extra)
