"""Confidence fitted on the third-party suite, checked by leaving one set out.

The model is the product's (``domain.confidence.Calibration``): a logistic model of "this item
is relevant" from the item's dense similarity and fused score, fitted on the top-10 items of
every judged question; a similarity floor (Youden's J) between the best similarity of
in-domain questions and of out-of-domain questions, below which nothing fits. What a result
says is graded as ``Matcher._grade`` grades it: the best class among the first five items,
and no good match when that is weak or the floor is not reached.

Leave-one-set-out: for each set, fit on every other set, then measure on the one left out, so
the figures say what the calibration does on a kind of data it has not seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from simatch.domain.confidence import Calibration
from simatch.domain.matcher import Scored
from simatch.evaluation.calibrate import STRONG, fit_logistic, youden_threshold
from simatch.evaluation.judged_run import JudgedRun

TOP_ITEMS = 10
SHOWN = 5  # items per section the grade looks at (the default limit)
LEVELS = ("strong", "possible", "weak")
_ORDER = {"weak": 0, "possible": 1, "strong": 2}


def _items(run: JudgedRun) -> tuple[list[tuple[float, float]], list[float]]:
    rows, labels = [], []
    for query, scored in zip(run.queries, run.fused, strict=True):
        if not query.gold:
            continue
        for cand in scored[:TOP_ITEMS]:
            rows.append((cand.similarity, cand.score))
            labels.append(float(str(cand.payload["id"]) in query.gold))
    return rows, labels


def best_similarity(scored: Sequence[Scored]) -> float:
    return max((c.similarity for c in scored[:SHOWN]), default=0.0)


def fit(
    in_domain: Sequence[JudgedRun],
    out_of_domain: Sequence[JudgedRun],
    model_id: str,
    base: Calibration | None,
) -> Calibration:
    rows: list[tuple[float, float]] = []
    labels: list[float] = []
    for run in in_domain:
        r, lab = _items(run)
        rows += r
        labels += lab
    a, b, c = fit_logistic(np.asarray(rows, dtype=float), np.asarray(labels))
    inside = [best_similarity(s) for run in in_domain for s in run.fused]
    outside = [best_similarity(s) for run in out_of_domain for s in run.fused]
    floor = youden_threshold(inside, outside)
    return Calibration(
        model_id=model_id,
        strong=STRONG,
        possible=round(float(np.mean(labels)), 4),
        duplicate=base.duplicate if base is not None else None,
        measured_on=date.today().isoformat(),
        similarity_floor=round(floor, 4),
        weights=(round(a, 4), round(b, 4), round(c, 4)),
        extra={
            "items": len(rows),
            "relevant_share": round(float(np.mean(labels)), 4),
            "questions_in_domain": len(inside),
            "questions_out_of_domain": len(outside),
        },
    )


def flagged(scored: Sequence[Scored], calibration: Calibration) -> bool:
    """``no_good_match`` as the Matcher decides it for these ranked items."""
    shown = scored[:SHOWN]
    best = max((_ORDER[calibration.classify(c.similarity, c.score)] for c in shown), default=0)
    return best == 0 or calibration.nothing_fits(best_similarity(shown))


def flag_rate(run: JudgedRun, calibration: Calibration) -> float:
    flags = [flagged(s, calibration) for s in run.fused]
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def reliability(run: JudgedRun, calibration: Calibration) -> dict[str, dict[str, float]]:
    """Share of relevant items per confidence class among the top-10 items."""
    levels: dict[str, list[bool]] = {level: [] for level in LEVELS}
    for query, scored in zip(run.queries, run.fused, strict=True):
        if not query.gold:
            continue
        no_match = flagged(scored, calibration)
        for cand in scored[:TOP_ITEMS]:
            level = "weak" if no_match else calibration.classify(cand.similarity, cand.score)
            levels[level].append(str(cand.payload["id"]) in query.gold)
    return {
        level: {"n": len(v), "relevant": round(sum(v) / len(v), 4) if v else 0.0}
        for level, v in levels.items()
    }


def leave_one_out(
    in_domain: Mapping[str, JudgedRun],
    out_of_domain: Mapping[str, JudgedRun],
    model_id: str,
    base: Calibration | None,
) -> dict[str, Any]:
    """Per set: fitted without it, measured on it."""
    out: dict[str, Any] = {}
    for name, run in {**in_domain, **out_of_domain}.items():
        rest_in = [r for n, r in in_domain.items() if n != name]
        rest_out = [r for n, r in out_of_domain.items() if n != name]
        fitted = fit(rest_in, rest_out, model_id, base)
        entry: dict[str, Any] = {
            "no_good_match": flag_rate(run, fitted),
            "floor": fitted.similarity_floor,
        }
        if name in in_domain:
            entry["reliability"] = reliability(run, fitted)
        out[name] = entry
    return out
