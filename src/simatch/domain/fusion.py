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

from simatch.domain.ports import Hit

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
    if method == "zscore":
        found = _zscore(dense, lexical, dense_weight, lexical_weight)
    else:
        found = _rrf(dense, lexical, rrf_k, dense_weight, lexical_weight)
    if boosts:
        for entry in found.values():
            if entry.key in boosts:
                entry.score = max(0.0, entry.score + boosts[entry.key])
    return sorted(found.values(), key=lambda e: (-e.score, e.key))


def _collect(dense: Sequence[Hit], lexical: Sequence[Hit]) -> dict[str, Scored]:
    found: dict[str, Scored] = {}
    for channel, hits in (("dense", dense), ("lexical", lexical)):
        for rank, hit in enumerate(hits, start=1):
            entry = found.get(hit.key)
            if entry is None:
                entry = found[hit.key] = Scored(hit.key, hit.payload, 0.0, 0.0, {})
            entry.ranks[channel] = rank
            if channel == "dense":
                entry.similarity = hit.score
    return found


def _zscore(
    dense: Sequence[Hit], lexical: Sequence[Hit], dense_weight: float, lexical_weight: float
) -> dict[str, Scored]:
    found = _collect(dense, lexical)
    total = 0.0
    for hits, weight in ((dense, dense_weight), (lexical, lexical_weight)):
        if weight <= 0 or not hits:
            continue
        total += weight
        scores = [h.score for h in hits]
        mean = statistics.fmean(scores)
        spread = statistics.pstdev(scores) or 1.0
        standard = {h.key: (h.score - mean) / spread for h in hits}
        floor = (min(scores) - mean) / spread
        for entry in found.values():
            entry.score += weight * standard.get(entry.key, floor)
    for entry in found.values():
        z = entry.score / total if total else 0.0
        entry.score = 1.0 / (1.0 + math.exp(-z))
    return found


def _rrf(
    dense: Sequence[Hit],
    lexical: Sequence[Hit],
    rrf_k: int,
    dense_weight: float,
    lexical_weight: float,
) -> dict[str, Scored]:
    found: dict[str, Scored] = {}
    for channel, hits, weight in (
        ("dense", dense, dense_weight),
        ("lexical", lexical, lexical_weight),
    ):
        for rank, hit in enumerate(hits, start=1):
            entry = found.get(hit.key)
            if entry is None:
                entry = found[hit.key] = Scored(hit.key, hit.payload, 0.0, 0.0, {})
            entry.score += weight / (rrf_k + rank)
            entry.ranks[channel] = rank
            if channel == "dense":
                entry.similarity = hit.score
    best = sum(w for w in (dense_weight, lexical_weight) if w > 0) / (rrf_k + 1)
    for entry in found.values():
        entry.score = entry.score / best if best else 0.0
    return found
