"""Ranking metrics and ROC-AUC on hand-computed cases."""

from __future__ import annotations

import pytest

from simatch.evaluation.metrics import mean_metrics, recall_at, reciprocal_rank, roc_auc


def test_recall_at_k_counts_relevant_ids_in_the_first_k() -> None:
    ranking = ["a", "b", "c", "d", "e", "f"]
    assert recall_at(ranking, {"b", "f"}, 1) == 0.0
    assert recall_at(ranking, {"b", "f"}, 5) == 0.5
    assert recall_at(ranking, {"b", "f"}, 10) == 1.0
    assert recall_at(ranking, set(), 5) == 0.0


def test_reciprocal_rank_is_one_over_the_first_hit() -> None:
    assert reciprocal_rank(["a", "b", "c"], {"c", "b"}) == 0.5
    assert reciprocal_rank(["a"], {"z"}) == 0.0


def test_means_skip_questions_without_relevant_records() -> None:
    metrics = mean_metrics([(["a", "b"], {"a"}), (["a", "b"], {"b"}), (["a"], set())])
    assert metrics.n == 2
    assert metrics.recall[1] == 0.5
    assert metrics.recall[5] == 1.0
    assert metrics.mrr == pytest.approx(0.75)
    assert metrics.as_dict()["recall@5"] == 1.0


def test_means_of_nothing_are_zero() -> None:
    assert mean_metrics([]).n == 0


def test_roc_auc_counts_ties_half() -> None:
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert roc_auc([0.1], [0.9]) == 0.0
    assert roc_auc([0.5], [0.5]) == 0.5
    assert roc_auc([0.9, 0.3], [0.5, 0.1]) == 0.75
    with pytest.raises(ValueError):
        roc_auc([], [0.1])
