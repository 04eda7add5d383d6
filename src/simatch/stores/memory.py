"""State that lives in the process's memory: the embedded default for rate-limit buckets
(one process serves an embedded index, and a restart refilling every bucket is harmless)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class MemoryRateBuckets:
    """``RateBuckets`` in a dict; the least recently seen identities are dropped beyond
    ``max_identities`` (a dropped bucket comes back full: harmless)."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_identities: int = 100_000
    ) -> None:
        self._clock = clock
        self._max = max_identities
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, identity: str, per_minute: float, burst: float) -> float:
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(identity, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[identity] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / rate

    def close(self) -> None:
        """Nothing to release."""
