"""Confidence fitted on judged runs: the grade the Matcher gives, the fit, leave-one-set-out."""

from __future__ import annotations

import random

from simatch.domain.confidence import Calibration
from simatch.domain.matcher import Scored
from simatch.evaluation import confidence_fit
from simatch.evaluation.judged import JudgedQuery
from simatch.evaluation.judged_run import JudgedRun


def scored(key: str, similarity: float, score: float) -> Scored:
    return Scored(f"innovation:{key}", {"id": key}, score, similarity, {})


def run(seed: int, answerable: bool, level: float) -> JudgedRun:
    """Questions whose gold item comes first with a higher similarity than the rest; out of
    domain (not answerable) everything sits lower."""
    rng = random.Random(seed)
    queries, fused = [], []
    for n in range(40):
        gold = frozenset({f"g{n}"}) if answerable else frozenset()
        queries.append(JudgedQuery(f"q{seed}-{n}", "text", "en", gold, ""))
        items = [scored(f"g{n}", level + 0.05 + rng.uniform(0, 0.02), 0.9)]
        items += [
            scored(f"x{n}-{i}", level + rng.uniform(-0.02, 0.02), 0.6 - 0.05 * i) for i in range(9)
        ]
        fused.append(items)
    return JudgedRun(queries, {}, {}, {}, fused)


def test_fit_separates_in_domain_from_out_of_domain() -> None:
    inside = [run(1, True, 0.82), run(2, True, 0.83)]
    outside = [run(3, False, 0.74)]
    fitted = confidence_fit.fit(inside, outside, "m", None)
    assert fitted.weights is not None and fitted.similarity_floor is not None
    assert 0.81 < fitted.similarity_floor < 0.87  # between the best items of each side
    assert fitted.possible == 0.1  # one relevant item among ten
    assert confidence_fit.flag_rate(outside[0], fitted) == 1.0
    assert confidence_fit.flag_rate(inside[0], fitted) == 0.0
    table = confidence_fit.reliability(inside[0], fitted)
    assert table["strong"]["relevant"] > table["weak"]["relevant"]
    assert sum(row["n"] for row in table.values()) == 400


def test_a_result_is_no_good_match_when_weak_or_below_the_floor() -> None:
    calibration = Calibration("m", strong=0.7, possible=0.2, similarity_floor=0.8)
    assert confidence_fit.flagged([scored("a", 0.79, 1.0)], calibration)  # below the floor
    assert not confidence_fit.flagged([scored("a", 0.85, 1.0)], calibration)
    assert confidence_fit.flagged([scored("a", 0.1, 1.0), scored("b", 0.15, 1.0)], calibration)
    assert confidence_fit.flagged([], calibration)


def test_leave_one_out_measures_each_set_without_it() -> None:
    inside = {"a": run(1, True, 0.82), "b": run(2, True, 0.83)}
    outside = {"ood": run(3, False, 0.74), "ood2": run(4, False, 0.75)}
    cv = confidence_fit.leave_one_out(inside, outside, "m", None)
    assert set(cv) == {"a", "b", "ood", "ood2"}
    assert cv["ood"]["no_good_match"] == 1.0
    assert cv["a"]["no_good_match"] == 0.0 and "reliability" in cv["a"]
    assert "reliability" not in cv["ood"]
