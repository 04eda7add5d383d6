"""Rate limits (token buckets per key and per client address) and the request body limit."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simatch.api.errors import error_response
from simatch.errors import RateLimited


class RateLimiter:
    """``per_minute`` requests per identity on average, ``burst`` at once; 0 disables it.

    Buckets live in memory (one process serves the index), the least recently seen are
    dropped beyond ``max_identities`` (a dropped bucket comes back full: harmless).
    """

    def __init__(
        self,
        per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_identities: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self._clock = clock
        self._max = max_identities
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def hit(self, identity: str) -> None:
        """Take one token or raise RateLimited with the seconds until one is back."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(identity, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[identity] = (tokens - 1.0, now)
                allowed = True
            else:
                self._buckets[identity] = (tokens, now)
                allowed = False
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        if not allowed:
            wait = (1.0 - tokens) / self.rate
            raise RateLimited(
                f"Too many requests; try again in {math.ceil(wait)} s.", retry_after=wait
            )


class BodyLimitMiddleware:
    """413 for bodies over the limit: at once from Content-Length, else while streaming.

    ``upload_paths`` get ``max_upload`` (imports); every other request gets ``max_body``.
    """

    def __init__(
        self, app: ASGIApp, max_body: int, max_upload: int, upload_paths: Collection[str]
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if scope["path"] in self.upload_paths else self.max_body
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            error = BodyTooLarge(limit)
            response = error_response(413, "too_large", error.detail, {"max_bytes": limit})
            await response(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` while the body streams in. An HTTPException, because FastAPI
    turns any other error met while reading a body into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.limit = limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
