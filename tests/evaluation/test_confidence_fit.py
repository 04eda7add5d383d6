"""Confidence fitted on judged runs: the grade the Matcher gives, the fit, leave-one-set-out."""

from __future__ import annotations

import random

import pytest

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
    # Out-of-domain best items sit at 0.79-0.81, in-domain ones at 0.87-0.90: the rule is
    # moved down until just enough out-of-domain questions are flagged.
    assert 0.79 < fitted.similarity_floor < 0.87
    assert fitted.possible == 0.1  # one relevant item among ten
    flagged = confidence_fit.flag_rate(outside[0], fitted)
    assert confidence_fit.OUT_OF_DOMAIN_FLAGGED <= flagged < 1.0
    assert confidence_fit.flag_rate(inside[0], fitted) == 0.0
    table = confidence_fit.reliability(inside[0], fitted)
    assert table["strong"]["relevant"] > table["weak"]["relevant"]
    assert sum(row["n"] for row in table.values()) == 400


def test_a_result_is_no_good_match_below_the_floor_or_the_rule() -> None:
    calibration = Calibration("m", strong=0.7, possible=0.2, similarity_floor=0.8)
    assert confidence_fit.flagged([scored("a", 0.79, 1.0)], calibration)  # below the floor
    assert not confidence_fit.flagged([scored("a", 0.85, 1.0)], calibration)
    assert confidence_fit.flagged([scored("a", 0.1, 1.0), scored("b", 0.15, 1.0)], calibration)
    assert confidence_fit.flagged([], calibration)
    # The rule: 10 * similarity + 2 * score - 1 * (other language) - 9 >= 0 fits.
    rule = Calibration("m", 0.7, 0.2, similarity_floor=0.7, fits=(10.0, 2.0, -1.0, -9.0))
    english = [Scored("innovation:a", {"id": "a", "language": "en"}, 1.0, 0.75, {})]
    assert not confidence_fit.flagged(english, rule, "en")
    assert confidence_fit.flagged(english, rule, "fi")  # another language needs more
    assert confidence_fit.flagged([scored("a", 0.75, 0.4)], rule, "en")  # channels disagree
    assert confidence_fit.flagged([scored("a", 0.69, 1.0)], rule, "en")  # below the floor


def crossing(seed: int, answerable: bool, lift: float) -> JudgedRun:
    """Questions in another language than every record, all at the same lifted similarity:
    in domain the records' language was lifted less than out of domain (as Finnish questions
    lift English records less than English questions lift Finnish ones)."""
    rng = random.Random(seed)
    queries, fused = [], []
    for n in range(40):
        gold = frozenset({f"g{n}"}) if answerable else frozenset()
        queries.append(JudgedQuery(f"q{seed}-{n}", "text", "fi", gold, ""))
        items = [
            Scored(
                f"innovation:{key}",
                {"id": key, "language": "en"},
                0.9 - 0.05 * i,
                0.85 + rng.uniform(-0.02, 0.02),
                {"dense": i + 1},
                lift,
            )
            for i, key in enumerate([f"g{n}", *(f"x{n}-{i}" for i in range(9))])
        ]
        fused.append(items)
    return JudgedRun(queries, {}, {}, {}, fused)


def test_the_rule_is_fitted_on_the_similarity_before_the_lift() -> None:
    inside = [crossing(1, True, 0.10), crossing(2, True, 0.10)]
    outside = [crossing(3, False, 0.20)]
    fitted = confidence_fit.fit(inside, outside, "m", None)
    assert fitted.fits is not None and fitted.fits_before_lift
    assert fitted.fits[2] == 0.0  # no "other language" term: the lifts say it
    # Lifted, both sit at 0.83-0.87; before the lift at 0.73-0.77 and 0.63-0.67.
    # (0.9 of them before the coefficients are rounded; one question of 40 may move)
    assert confidence_fit.flag_rate(outside[0], fitted) >= 0.85
    assert confidence_fit.flag_rate(inside[0], fitted) == 0.0
    assert fitted.similarity_floor is not None and 0.63 < fitted.similarity_floor < 0.73


def test_strong_is_where_the_items_above_were_mostly_relevant() -> None:
    probabilities = [0.9 - 0.01 * i for i in range(60)]
    labels = [1.0] * 25 + [0.0, 1.0] * 10 + [0.0] * 15  # precision 0.7 down to item 50
    assert confidence_fit.strong_cutoff(probabilities, labels) == pytest.approx(0.41)
    assert confidence_fit.strong_cutoff(probabilities[:10], labels[:10]) == 1.0  # too few
    assert confidence_fit.strong_cutoff(probabilities, [0.0] * 60) == 1.0


def test_leave_one_out_measures_each_set_without_it() -> None:
    inside = {"a": run(1, True, 0.82), "b": run(2, True, 0.83)}
    outside = {"ood": run(3, False, 0.74), "ood2": run(4, False, 0.75)}
    cv = confidence_fit.leave_one_out(inside, outside, "m", None)
    assert set(cv) == {"a", "b", "ood", "ood2"}
    assert cv["ood"]["no_good_match"] == 1.0
    assert cv["a"]["no_good_match"] == 0.0 and "reliability" in cv["a"]
    assert "reliability" not in cv["ood"]
