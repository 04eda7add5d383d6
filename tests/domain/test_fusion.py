"""``fuse_ranked`` (keys and scores alone: reverse matching) ranks and scores exactly as
``fuse`` (hits with payloads: a match) on the same rankings."""

from __future__ import annotations

import random

import pytest

from simatch.domain.fusion import FUSIONS, Fusion, fuse, fuse_ranked
from simatch.domain.ports import Hit, Ranking


def _rankings(rng: random.Random) -> tuple[list[Hit], list[Hit]]:
    """Two channels of up to 60 hits over a shared pool of keys: some keys in both, some in
    one, equal scores now and then (ties are broken by key)."""
    pool = [f"call:{n}" for n in range(90)]
    dense_keys = rng.sample(pool, rng.randint(0, 60))
    lexical_keys = rng.sample(pool, rng.randint(0, 60))
    dense_scores = sorted((round(rng.uniform(0.7, 0.9), 2) for _ in dense_keys), reverse=True)
    lexical_scores = sorted((rng.uniform(0.0, 12.0) for _ in lexical_keys), reverse=True)
    dense = [Hit(k, s, {"key": k}) for k, s in zip(dense_keys, dense_scores, strict=True)]
    lexical = [Hit(k, s, {"key": k}) for k, s in zip(lexical_keys, lexical_scores, strict=True)]
    return dense, lexical


@pytest.mark.parametrize("method", FUSIONS)
@pytest.mark.parametrize("weights", [(1.0, 1.0), (1.0, 0.5), (1.0, 0.0), (0.0, 1.0)])
def test_fuse_ranked_equals_fuse(method: Fusion, weights: tuple[float, float]) -> None:
    rng = random.Random(f"{method}{weights}")
    compared = 0
    for _ in range(200):
        dense, lexical = _rankings(rng)
        boosts = {f"call:{n}": rng.uniform(-0.3, 0.3) for n in rng.sample(range(100), 5)}
        for given in (None, boosts):
            dw, lw = weights
            full = fuse(
                dense, lexical, rrf_k=60, dense_weight=dw, lexical_weight=lw, boosts=given,
                method=method,
            )  # fmt: skip
            lean = fuse_ranked(
                Ranking([h.key for h in dense], [h.score for h in dense]),
                Ranking([h.key for h in lexical], [h.score for h in lexical]),
                rrf_k=60, dense_weight=dw, lexical_weight=lw, boosts=given, method=method,
            )  # fmt: skip
            assert lean == [(c.key, c.score) for c in full]
            compared += len(lean)
    assert compared > 10_000
