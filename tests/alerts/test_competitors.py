"""Pruning by dense rank: the bound follows the calibration, a need is skipped only when
more similar records already outnumber it, and a batch's records count as competitors."""

from __future__ import annotations

import numpy as np

from simatch.alerts.competitors import Competitors, DenseRankBound
from simatch.domain.confidence import Calibration
from simatch.domain.fusion import fuse
from simatch.domain.ports import Hit

CAL = Calibration("m", strong=0.7, possible=0.2056, similarity_floor=0.37,
                  weights=(11.8691, 25.9571, -29.4707))  # fmt: skip


def test_the_bound_is_the_worst_dense_rank_that_still_reaches_the_confidence() -> None:
    bound = DenseRankBound(CAL, "possible", rrf_k=60, dense_weight=1, lexical_weight=1,
                           candidates=60)  # fmt: skip
    for similarity in (0.4, 0.5, 0.6):
        limit = bound.max_rank(similarity)
        assert 1 <= limit < 60
        for rank, fits in ((int(limit), True), (int(limit) + 2, False)):
            # The best case for the record: first in the lexical channel.
            dense = [Hit(f"r{i}", 0.9, {}) for i in range(1, rank)] + [Hit("x", similarity, {})]
            (scored,) = [s for s in fuse(dense, [Hit("x", 1.0, {})], rrf_k=60, dense_weight=1,
                                         lexical_weight=1) if s.key == "x"]  # fmt: skip
            assert (CAL.classify(similarity, scored.score) != "weak") == fits, (similarity, rank)
    # A feedback boost can lift any rank; an uncalibrated model only needs the dense channel.
    assert bound.max_rank(0.5, boost=0.3) == 60
    assert DenseRankBound(None, "possible", 60, 1, 1, 60).max_rank(0.5) == 60


def test_a_need_is_skipped_only_when_enough_records_are_more_similar() -> None:
    bound = DenseRankBound(CAL, "possible", 60, 1, 1, 60)
    limit = bound.max_rank(0.5)
    now = [0.0]
    prune = Competitors(bound, keep=60, ttl=10, clock=lambda: now[0])
    assert not prune.hopeless("need:a", "call", 0.5, "call:new")  # never checked: check it
    prune.remember("need:a", "call", [0.6] * int(limit), {})
    assert not prune.hopeless("need:a", "call", 0.5, "call:new")  # it may be one of them
    prune.add("need:a", "call", np.array([0.7, 0.2], np.float32))
    assert prune.hopeless("need:a", "call", 0.5, "call:new")
    assert not prune.hopeless("need:a", "call", 0.65, "call:new")
    assert not prune.hopeless("need:a", "other", 0.5, "need:new")  # another pool
    prune.remember("need:b", "call", [0.6] * 59, {"call:liked": 0.3})
    assert not prune.hopeless("need:b", "call", 0.5, "call:liked")  # its 👍 may lift it
    now[0] = 11  # after the time to live the need is checked again
    assert not prune.hopeless("need:a", "call", 0.5, "call:new")
