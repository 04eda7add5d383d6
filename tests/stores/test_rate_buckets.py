"""The RateBuckets contract: in process memory (the embedded default) and in PostgreSQL,
where a limit is counted once however many replicas take from it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from simatch.stores.factory import StateBackend, open_rate_buckets
from simatch.stores.memory import MemoryRateBuckets
from tests.stores.conftest import Stores


def test_a_burst_then_the_rate(stores: Stores) -> None:
    now = [1_000_000.0]
    buckets = stores.rate_buckets(clock=lambda: now[0])
    assert [buckets.take("key:a", 60, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("key:a", 60, 3)
    assert wait == pytest.approx(1.0)  # one token a second
    assert buckets.take("key:b", 60, 3) == 0.0  # identities are apart
    now[0] += 0.5
    assert buckets.take("key:a", 60, 3) == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("key:a", 60, 3) == 0.0
    now[0] += 3600  # refills up to the burst only
    assert [buckets.take("key:a", 60, 3) == 0.0 for _ in range(4)] == [True] * 3 + [False]


def test_a_limit_is_counted_once_across_instances(backend: StateBackend) -> None:
    """Many concurrent takes on one identity, through two instances (two replicas, when
    the backend is shared): exactly the burst gets through (no refill at this rate)."""
    one = open_rate_buckets(backend)
    two = open_rate_buckets(backend) if backend.database is not None else one
    start = threading.Barrier(8)

    def hammer(i: int) -> int:
        buckets = one if i % 2 else two
        start.wait()
        return sum(buckets.take("addr:10.0.0.1", 0.001, 25) == 0.0 for _ in range(10))

    with ThreadPoolExecutor(8) as pool:
        allowed = sum(pool.map(hammer, range(8)))
    assert allowed == 25
    one.close()
    two.close()


def test_memory_buckets_forget_the_least_recently_seen() -> None:
    buckets = MemoryRateBuckets(clock=lambda: 0.0, max_identities=2)
    for identity in ("a", "b", "c"):
        assert buckets.take(identity, 60, 1) == 0.0
    assert buckets.take("c", 60, 1) > 0  # c is still counted
    assert buckets.take("a", 60, 1) == 0.0  # a was forgotten: it came back full
