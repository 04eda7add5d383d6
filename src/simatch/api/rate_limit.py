"""Rate limits: token buckets per API key and per client address (checked in ``auth.py``).

The buckets are a store (``domain.stores.RateBuckets``): in this process's memory on one
machine, in PostgreSQL when replicas share it, where one statement takes a token so that a
limit is counted once across replicas.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from simatch.domain.stores import RateBuckets
from simatch.errors import RateLimited


class RateLimiter:
    """``per_minute`` requests per identity on average, ``burst`` at once; 0 disables it.
    ``buckets`` is called on the first hit (the store opens with the first request)."""

    def __init__(self, per_minute: int, burst: int, buckets: Callable[[], RateBuckets]) -> None:
        self.per_minute = float(per_minute)
        self.burst = float(max(1, burst))
        self._buckets = buckets

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def hit(self, identity: str) -> None:
        """Take one token or raise RateLimited with the seconds until one is back."""
        if not self.enabled:
            return
        wait = self._buckets().take(identity, self.per_minute, self.burst)
        if wait > 0:
            raise RateLimited(
                f"Too many requests; try again in {math.ceil(wait)} s.", retry_after=wait
            )
