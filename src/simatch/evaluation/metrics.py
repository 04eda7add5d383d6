"""Ranking metrics with binary relevance: recall@k and reciprocal rank, and their means."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

CUTOFFS: tuple[int, ...] = (1, 5, 10)


def recall_at(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant ids among the first ``k`` of the ranking (0 when none relevant)."""
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)


def ndcg_at(ranking: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary relevance (0 when none relevant)."""
    if not relevant:
        return 0.0
    wanted = set(relevant)
    gain = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranking[:k]) if item in wanted)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(wanted))))
    return gain / ideal


def reciprocal_rank(ranking: Sequence[str], relevant: Collection[str]) -> float:
    """1 / rank of the first relevant id; 0 when none is ranked."""
    for rank, item in enumerate(ranking, start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class RankingMetrics:
    """Means over ``n`` queries."""

    n: int
    recall: dict[int, float]  # k -> mean recall@k
    mrr: float
    ndcg10: float = 0.0

    def as_dict(self) -> dict[str, float]:
        out: dict[str, float] = {f"recall@{k}": round(v, 4) for k, v in self.recall.items()}
        out["mrr"] = round(self.mrr, 4)
        out["ndcg@10"] = round(self.ndcg10, 4)
        out["n"] = self.n
        return out


def mean_metrics(
    judged: Iterable[tuple[Sequence[str], Collection[str]]], cutoffs: Sequence[int] = CUTOFFS
) -> RankingMetrics:
    """Metrics averaged over (ranking, relevant) pairs; pairs without relevant ids are skipped."""
    sums = dict.fromkeys(cutoffs, 0.0)
    rr = 0.0
    ndcg = 0.0
    n = 0
    for ranking, relevant in judged:
        if not relevant:
            continue
        n += 1
        for k in cutoffs:
            sums[k] += recall_at(ranking, relevant, k)
        rr += reciprocal_rank(ranking, relevant)
        ndcg += ndcg_at(ranking, relevant, 10)
    if n == 0:
        return RankingMetrics(0, dict.fromkeys(cutoffs, 0.0), 0.0)
    return RankingMetrics(n, {k: v / n for k, v in sums.items()}, rr / n, ndcg / n)


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        raise ValueError("roc_auc needs at least one positive and one negative score")
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    # Mann-Whitney U with average ranks for ties.
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average = (i + 1 + j) / 2
        rank_sum += average * sum(1 for _, label in ranked[i:j] if label == 1)
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
