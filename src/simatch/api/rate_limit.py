"""Rate limits: token buckets per API key and per client address (checked in ``auth.py``)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

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
