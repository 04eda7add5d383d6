"""The EmbeddingCache contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np

from simatch.stores.factory import StateBackend, open_embedding_cache


def test_vectors_come_back_as_stored(backend: StateBackend) -> None:
    cache = open_embedding_cache(backend)
    a = np.arange(4, dtype=np.float32) / 7
    b = np.ones(384, dtype=np.float32)
    assert cache.get_many(["a", "b"]) == {}
    cache.put_many({"a": a, "b": b})
    cache.put_many({"a": a})  # again: harmless
    cache.put_many({})
    found = cache.get_many(["a", "b", "c"])
    assert set(found) == {"a", "b"}
    assert found["a"].dtype == np.float32 and np.array_equal(found["a"], a)
    assert found["b"].shape == (384,)
    many = {f"k{i}": np.full(3, i, dtype=np.float32) for i in range(1200)}
    cache.put_many(many)
    assert len(cache.get_many(list(many))) == 1200
    cache.close()
