"""``fuse_ranked`` (keys and scores alone: reverse matching) ranks and scores exactly as
``fuse`` (hits with payloads: a match) on the same rankings; tied hits share a rank."""

from __future__ import annotations

import random
from itertools import groupby

import pytest

from simatch.domain.fusion import FUSIONS, Fusion, fuse, fuse_ranked, shared_ranks
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


def test_tied_hits_share_their_runs_first_rank() -> None:
    assert shared_ranks([]) == []
    assert shared_ranks([0.9, 0.8, 0.7]) == [1, 2, 3]
    assert shared_ranks([7.0, 5.5, 5.5, 5.5, 5.5, 2.0, 2.0]) == [1, 2, 2, 2, 2, 6, 6]
    # Three hits tied at the top of one channel: each counts as rank 1 there.
    only_lexical = [Hit(k, 3.0, {"key": k}) for k in ("x", "y", "z")]
    scores = {c.key: c.score for c in fuse([], only_lexical, rrf_k=60, dense_weight=1.0,
                                           lexical_weight=1.0, method="rrf")}  # fmt: skip
    assert scores["x"] == scores["y"] == scores["z"] == (1 / 61) / (2 / 61)


@pytest.mark.parametrize("method", FUSIONS)
def test_the_engines_order_of_ties_decides_nothing(method: Fusion) -> None:
    """The same hits with the ties of each channel in another order (as another build of the
    same records returns them) fuse to the same scores and order; tied hits score alike."""
    rng = random.Random(f"ties{method}")
    for _ in range(100):
        dense, lexical = _rankings(rng)
        lexical = [Hit(h.key, round(h.score), h.payload) for h in lexical]  # many ties
        fused = fuse(dense, lexical, rrf_k=60, dense_weight=1.0, lexical_weight=1.0, method=method)
        for _ in range(3):
            again = fuse(
                _shuffled_ties(dense, rng), _shuffled_ties(lexical, rng),
                rrf_k=60, dense_weight=1.0, lexical_weight=1.0, method=method,
            )  # fmt: skip
            assert [(c.key, c.score) for c in again] == [(c.key, c.score) for c in fused]


def test_a_hit_ranks_no_better_than_the_hits_scored_above_it_allow() -> None:
    """What alert detection's screen bounds with (``alerts.screen``): a hit's rank is at least
    one plus the number of hits scored higher, so its RRF credit is at most
    ``weight / (k + 1 + above)``; and a hit scored higher in both channels than another
    fuses above it."""
    rng = random.Random("bounds")
    for _ in range(200):
        dense, lexical = _rankings(rng)
        lexical = [Hit(h.key, round(h.score), h.payload) for h in lexical]
        for hits in (dense, lexical):
            scores = [h.score for h in hits]
            for score, rank in zip(scores, shared_ranks(scores), strict=True):
                assert rank >= 1 + sum(s > score for s in scores)
        fused = {c.key: c for c in fuse(dense, lexical, rrf_k=60, dense_weight=1.0,
                                         lexical_weight=1.0)}  # fmt: skip
        d = {h.key: h.score for h in dense}
        lx = {h.key: h.score for h in lexical}
        both = [k for k in d if k in lx]
        for a in both:
            for b in both:
                if d[a] > d[b] and lx[a] > lx[b]:
                    assert fused[a].score > fused[b].score


def _shuffled_ties(hits: list[Hit], rng: random.Random) -> list[Hit]:
    """``hits`` (best first) with every run of equal scores in a random order."""
    out: list[Hit] = []
    for _, run in groupby(hits, key=lambda h: h.score):
        group = list(run)
        rng.shuffle(group)
        out.extend(group)
    return out
