"""Fusion of the dense and the lexical channel: RRF (default) or score normalisation.

- ``rrf``: weighted reciprocal-rank fusion, each hit counts ``weight / (k + rank)`` in every
  channel that found it; normalised so that rank 1 in every weighted channel scores 1.0.
  Hits with equal scores in a channel share one rank, their run's first position
  (``shared_ranks``): the engine's order of ties is arbitrary, so it decides nothing.
- ``zscore``: each channel's scores are standardised over the candidates it returned (mean 0,
  standard deviation 1), a candidate a channel did not return gets that channel's lowest
  standardised score, and the weighted sum is squashed into 0..1 (logistic). Unlike ranks,
  this keeps how far ahead a channel's best candidates are: a lexical hit that shares the
  question's rare words outscores a run of near-equal dense neighbours. On the third-party
  development sets it won where one channel is far better than the other (problem → method:
  +6.8 points recall@5) and lost where both are weak or the question is Finnish (ESF peers,
  Finnish questions, the mixed index: 2-3 points), so RRF stays the default
  (benchmarks/README.md, "Match quality on third-party data").

Feedback boosts are then added to the fused score.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from simatch.domain.ports import Hit, Ranking

Channel = Literal["dense", "lexical"]
CHANNELS: tuple[Channel, ...] = ("dense", "lexical")
Fusion = Literal["zscore", "rrf"]
FUSIONS: tuple[Fusion, ...] = ("zscore", "rrf")


@dataclass
class Scored:
    """A candidate after fusion (its payload is made whole before it is shown)."""

    key: str
    payload: dict[str, Any]
    score: float
    similarity: float  # dense cosine, or the best seen; 0 when only lexical found it
    ranks: dict[str, int]
    # The part of ``similarity`` the record gained for being in another language than the
    # question (``LanguageCentring.record_lift``; set by the Matcher): it ranks with it, and
    # whether anything fits may be judged on the similarity before it (``Calibration``).
    lift: float = 0.0


def fuse(
    dense: Sequence[Hit],
    lexical: Sequence[Hit],
    *,
    rrf_k: int,
    dense_weight: float,
    lexical_weight: float,
    boosts: dict[str, float] | None = None,
    method: Fusion = "rrf",
) -> list[Scored]:
    """Best first (ties by key), scores in 0..1 before boosts."""
    dense_keys, lexical_keys = [h.key for h in dense], [h.key for h in lexical]
    scores = _scores(
        (dense_keys, [h.score for h in dense], dense_weight),
        (lexical_keys, [h.score for h in lexical], lexical_weight),
        rrf_k,
        method,
        boosts,
    )
    found: dict[str, Scored] = {}
    for channel, keys, hits in (("dense", dense_keys, dense), ("lexical", lexical_keys, lexical)):
        for rank, (key, hit) in enumerate(zip(keys, hits, strict=True), start=1):
            entry = found.get(key)
            if entry is None:
                entry = found[key] = Scored(key, hit.payload, scores[key], 0.0, {})
            entry.ranks[channel] = rank
            if channel == "dense":
                entry.similarity = hit.score
    return sorted(found.values(), key=lambda e: (-e.score, e.key))


def fuse_ranked(
    dense: Ranking,
    lexical: Ranking,
    *,
    rrf_k: int,
    dense_weight: float,
    lexical_weight: float,
    boosts: dict[str, float] | None = None,
    method: Fusion = "rrf",
) -> list[tuple[str, float]]:
    """``fuse`` on keys and scores alone: (key, fused score), in ``fuse``'s order and with
    its scores, and no object per candidate (reverse matching fuses thousands of rankings
    per import). A candidate's similarity is its dense score, 0 when only lexical."""
    scores = _scores(
        (dense.keys, dense.scores, dense_weight),
        (lexical.keys, lexical.scores, lexical_weight),
        rrf_k,
        method,
        boosts,
    )
    return sorted(scores.items(), key=lambda e: (-e[1], e[0]))


_Channel = tuple[Sequence[str], Sequence[float], float]  # keys, scores (best first), weight


def _scores(
    dense: _Channel,
    lexical: _Channel,
    rrf_k: int,
    method: Fusion,
    boosts: dict[str, float] | None,
) -> dict[str, float]:
    """Fused score of every key either channel found (keys in the order first seen)."""
    scores = _zscore(dense, lexical) if method == "zscore" else _rrf(dense, lexical, rrf_k)
    if boosts:
        for key, boost in boosts.items():
            if key in scores:
                scores[key] = max(0.0, scores[key] + boost)
    return scores


def _zscore(dense: _Channel, lexical: _Channel) -> dict[str, float]:
    found = dict.fromkeys([*dense[0], *lexical[0]], 0.0)
    total = 0.0
    for keys, scores, weight in (dense, lexical):
        if weight <= 0 or not keys:
            continue
        total += weight
        mean = statistics.fmean(scores)
        spread = statistics.pstdev(scores) or 1.0
        standard = {k: (x - mean) / spread for k, x in zip(keys, scores, strict=True)}
        floor = (min(scores) - mean) / spread
        for key in found:
            found[key] += weight * standard.get(key, floor)
    for key, score in found.items():
        z = score / total if total else 0.0
        found[key] = 1.0 / (1.0 + math.exp(-z))
    return found


def _rrf(dense: _Channel, lexical: _Channel, rrf_k: int) -> dict[str, float]:
    found: dict[str, float] = {}
    for keys, scores, weight in (dense, lexical):
        for key, rank in zip(keys, shared_ranks(scores), strict=True):
            found[key] = found.get(key, 0.0) + weight / (rrf_k + rank)
    best = sum(w for w in (dense[2], lexical[2]) if w > 0) / (rrf_k + 1)
    for key, score in found.items():
        found[key] = score / best if best else 0.0
    return found


def shared_ranks(scores: Sequence[float]) -> list[int]:
    """The rank each hit of one channel (scores best first) counts with in RRF: one plus the
    number of hits scored higher, so hits with exactly equal scores share their run's first
    position (scores 7, 5, 5, 5, 2: ranks 1, 2, 2, 2, 5).

    Why: the engine returns equal scores in no fixed order (it changed between builds of the
    same records: docs/alerts.md), and short texts tie often (Finnish ESF project titles: 238
    of the 271 `dev` questions have tied BM25 scores among their 60 lexical hits, 14.5 tied
    hits per question). By position, a tie's arbitrary order gave some of the run more credit
    than others, so the same data could give different matches and alerts. A shared rank
    makes the fused scores independent of that order (a run that the ``candidates`` limit
    cuts is still cut in the engine's order).

    The first position, not the mean or the last: records that nothing scores higher than
    are each "first" (24 copies of a call that fits a need perfectly all score 1.0, where the
    mean position would mark every one of them down for having copies, and grade them below
    what a single copy gets). On the `dev` sets (benchmarks/README.md, "Seventh round") the
    first, mean and last position all gave the product's figures (ESF peers recall@10 0.177,
    Participedia cases 0.276, problems 0.918, the demo 0.896) and the same no_good_match
    shares; tolerances (1e-6, 1e-4) gained nothing, so equality is exact.

    Alert detection's screen bounds a rank by one plus the number of records clearly ahead
    (``alerts.screen``, by more than the engine's float margin): never better than a shared
    rank (the rank itself, up to that margin), so its pruning stays exact."""
    ranks = list(range(1, len(scores) + 1))
    for n in range(1, len(scores)):
        if scores[n] == scores[n - 1]:
            ranks[n] = ranks[n - 1]
    return ranks
