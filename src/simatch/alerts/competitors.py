"""Pruning reverse matches that cannot alert, without changing what alerts.

A record reaches a confidence above weak only with a high fused score, and a fused score
needs a good dense rank: with the best lexical rank (1) the dense rank may be at most
``DenseRankBound.max_rank(similarity, boost)``, from the calibration's weights and the
record's feedback boost for the need's question (none for a record new to the index). The
dense rank of a new record for a need is one plus the number of records in the need's pool
that are more similar to it. Those are remembered per need and pool from the need's last
real check, and brought up to date with every batch's records (their similarities to every
need are at hand): a need whose remembered competitors already outnumber the bound is not
checked. Records only add competitors, so this never skips a record that would alert,
except after deletions or calls closing; entries are dropped after ``ttl`` seconds for that
reason (and rebuilt by the next real check).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from simatch.domain.confidence import Calibration
from simatch.domain.results import Confidence


class DenseRankBound:
    """The worst dense rank at which an item can still reach ``confidence``."""

    def __init__(
        self,
        calibration: Calibration | None,
        confidence: Confidence,
        rrf_k: int,
        dense_weight: float,
        lexical_weight: float,
        candidates: int,
    ) -> None:
        self.candidates = candidates  # not found by the dense channel: similarity 0, weak
        self.k, self.wd, self.wl = rrf_k, dense_weight, lexical_weight
        self.weights = calibration.weights if calibration is not None else None
        cutoff = (
            (calibration.strong if confidence == "strong" else calibration.possible)
            if calibration is not None
            else 0.0
        )
        self.logit = math.log(cutoff / (1 - cutoff)) if 0 < cutoff < 1 else None

    def max_rank(self, similarity: float, boost: float = 0.0) -> float:
        if self.weights is None or self.logit is None or self.wd <= 0:
            return float(self.candidates)
        a, b, c = self.weights
        if b <= 0:
            return float(self.candidates)
        least_score = (self.logit - c - a * similarity) / b - max(0.0, boost)
        best = (self.wd + self.wl) / (self.k + 1)
        dense_part = least_score * best - self.wl / (self.k + 1)
        if dense_part <= 0:
            return float(self.candidates)
        return min(float(self.candidates), self.wd / dense_part - self.k)


class Competitors:
    """Per (need, pool): the dense similarities of the pool's best records, best first."""

    def __init__(
        self,
        bound: DenseRankBound,
        keep: int,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bound = bound
        self.keep = keep
        self.ttl = ttl
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, np.ndarray]] = {}
        self._boosts: dict[str, dict[str, float]] = {}  # need -> feedback boosts by record

    def remember(
        self, need_key: str, pool: str, similarities: list[float], boosts: dict[str, float]
    ) -> None:
        top = np.sort(np.asarray(similarities, np.float32))[::-1][: self.keep]
        self._seen[(need_key, pool)] = (self.clock(), top)
        self._boosts[need_key] = {k: v for k, v in boosts.items() if v > 0}

    def hopeless(self, need_key: str, pool: str, similarity: float, record_key: str) -> bool:
        """True when the need's pool already holds too many more similar records."""
        found = self._seen.get((need_key, pool))
        if found is None:
            return False
        made, top = found
        if self.clock() - made > self.ttl:
            del self._seen[(need_key, pool)]
            return False
        # One of them may be this very record, as it was before it changed.
        better = int(np.count_nonzero(top > similarity))
        boost = self._boosts.get(need_key, {}).get(record_key, 0.0)
        return better > self.bound.max_rank(similarity, boost)

    def add(self, need_key: str, pool: str, similarities: np.ndarray) -> None:
        """New records of this pool, with their similarity to the need, are competitors."""
        found = self._seen.get((need_key, pool))
        if found is None or similarities.size == 0:
            return
        made, top = found
        if top.size >= self.keep and float(similarities.max()) <= float(top[-1]):
            return
        merged = np.sort(np.concatenate([top, similarities.astype(np.float32)]))[::-1]
        self._seen[(need_key, pool)] = (made, merged[: self.keep])

    def forget(self, need_key: str) -> None:
        for pool in ("call", "other"):
            self._seen.pop((need_key, pool), None)
        self._boosts.pop(need_key, None)
