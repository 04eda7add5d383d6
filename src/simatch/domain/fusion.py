"""Weighted reciprocal-rank fusion of the dense and the lexical channel.

RRF needs no score calibration between the channels: each hit counts ``weight / (k + rank)``
in every channel that found it. Scores are normalised so that rank 1 in every weighted
channel scores 1.0; feedback boosts are then added to the fused score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from simatch.domain.ports import Hit

Channel = Literal["dense", "lexical"]
CHANNELS: tuple[Channel, ...] = ("dense", "lexical")


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
) -> list[Scored]:
    """Best first (ties by key); rank 1 in every weighted channel scores 1.0."""
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
        if boosts and entry.key in boosts:
            entry.score = max(0.0, entry.score + boosts[entry.key])
    return sorted(found.values(), key=lambda e: (-e.score, e.key))
