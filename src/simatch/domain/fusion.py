"""Fusion of the dense and the lexical channel: RRF (default) or score normalisation.

- ``rrf``: weighted reciprocal-rank fusion, each hit counts ``weight / (k + rank)`` in every
  channel that found it; normalised so that rank 1 in every weighted channel scores 1.0.
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
    for keys, _, weight in (dense, lexical):
        for rank, key in enumerate(keys, start=1):
            found[key] = found.get(key, 0.0) + weight / (rrf_k + rank)
    best = sum(w for w in (dense[2], lexical[2]) if w > 0) / (rrf_k + 1)
    for key, score in found.items():
        found[key] = score / best if best else 0.0
    return found
