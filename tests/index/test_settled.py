"""``settled``: which hits of equal score a search gives, and in which order, does not depend
on the order the engine gives them in (it differed between runs of the same import on copies
of one data directory), also where the limit cuts a run of them; the engine is asked again
for more only then."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import groupby

import numpy as np

from simatch.domain.ports import Search, SearchFilter
from simatch.index.schema import settled

Found = tuple[str, float]  # (point id, score)

# 3 distinct scores, then a run of 9 ties, then 4 more: best first.
POINTS: list[Found] = [("p7", 0.9), ("p2", 0.8), ("p5", 0.8)]
POINTS += [(f"t{n}", 0.5) for n in range(9)] + [("q1", 0.4), ("q0", 0.3), ("q2", 0.3), ("q3", 0.1)]


class Engine:
    """Gives the first ``limit`` points best first, each run of ties in an order of its own
    (seeded): another build of the same records."""

    def __init__(self, seed: int) -> None:
        runs = [list(run) for _, run in groupby(POINTS, key=lambda p: p[1])]
        rng = random.Random(seed)
        for run in runs:
            rng.shuffle(run)
        self.order = [p for run in runs for p in run]
        self.asked: list[int] = []

    def fetch(self, searches: Sequence[Search]) -> list[list[Found]]:
        self.asked.extend(s.limit for s in searches)
        return [self.order[: s.limit] for s in searches]


def search(limit: int) -> Search:
    return Search(np.zeros(2, np.float32), SearchFilter(), limit)


def test_every_build_gives_the_same_hits_in_the_same_order_at_any_limit() -> None:
    want = sorted(POINTS, key=lambda p: (-p[1], p[0]))
    for limit in (1, 2, 3, 4, 7, 12, 13, 16, 20):
        got = []
        for seed in range(6):
            engine = Engine(seed)
            (hits,) = settled([search(limit)], engine.fetch, lambda p: p[1], lambda p: p[0])
            got.append(hits)
        assert all(hits == want[:limit] for hits in got), limit


def test_the_engine_is_asked_again_only_when_the_limit_cuts_a_run_of_ties() -> None:
    engine = Engine(0)
    searches = [search(2), search(4), search(12)]
    found = settled(searches, engine.fetch, lambda p: p[1], lambda p: p[0])
    assert [len(hits) for hits in found] == [2, 4, 12]
    # One more than the limit first: limit 2 cuts the run of 0.8 (ranks 2-3), limit 4 the
    # run of 0.5 (ranks 4-12), limit 12 ends with that run (rank 13 scores less). Then twice
    # as many until the run ends within them: 6 (2 done), 10 (0.5 still last), 20 (the
    # engine had 16).
    assert engine.asked == [3, 5, 13, 6, 10, 20]
    assert [p[0] for p in found[0]] == ["p7", "p2"]
    assert found[1][3][0] == "t0" and found[2][-1][0] == "t8"


def test_a_run_of_ties_longer_than_settle_most_times_the_limit_is_not_fetched_whole() -> None:
    many: list[Found] = [(f"r{n:04d}", 0.5) for n in range(1000)]
    asked: list[int] = []

    def fetch(searches: Sequence[Search]) -> list[list[Found]]:
        asked.extend(s.limit for s in searches)
        return [many[: s.limit] for s in searches]

    (hits,) = settled([search(3)], fetch, lambda p: p[1], lambda p: p[0])
    assert len(hits) == 3 and asked == [4, 8, 16, 32, 49]  # 16 x 3 + 1 at most
