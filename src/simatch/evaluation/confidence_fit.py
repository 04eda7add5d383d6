"""Confidence fitted on the third-party suite, checked by leaving one set out.

The model is the product's (``domain.confidence.Calibration``):

- item classes: a logistic model of "this item is relevant" from the item's dense similarity
  and fused score, fitted on the top-10 items of every judged question; "possible" from the
  share of relevant items, "strong" from the probability above which at least
  ``STRONG_PRECISION`` of the dev items were relevant (the crowd-sourced judgements are
  incomplete: no single item reaches a probability of 0.7, but the best few hundred do
  reach that precision together);
- whether anything fits (``fits``): a logistic model of "this question is in the index's
  domain" on the most similar of the first five items (its similarity *before* the lift its
  language got for ranking, ``Scored.lift``) and the best fused score, fitted on in-domain
  and out-of-domain questions. Until the sixth round of issue 10 it read the lifted
  similarity plus an "other language" term, which cannot tell Finnish questions on English
  records (in domain on the dev sets) from English questions on Finnish records (out of
  domain there): the lifts differ by direction, the term did not. Its threshold is then set
  so that every out-of-domain set is flagged at least ``OUT_OF_DOMAIN_FLAGGED`` of the time
  (the issue asks for 0.80; the margin is for data not seen; 0.85 left 0.82 on test), which
  answers as many in-domain questions as that allows.

What a result says is graded as ``Matcher._grade`` grades it.

Leave-one-set-out: for each set, fit on every other set, then measure on the one left out, so
the figures say what the calibration does on a kind of data it has not seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from simatch.domain.confidence import Calibration
from simatch.domain.matcher import Scored
from simatch.evaluation.calibrate import fit_logistic
from simatch.evaluation.judged_run import JudgedRun

TOP_ITEMS = 10
SHOWN = 5  # items per section the grade looks at (the default limit)
STRONG_PRECISION = 0.7
STRONG_MIN_ITEMS = 20  # fewer dev items above a cut-off than this prove nothing
OUT_OF_DOMAIN_FLAGGED = 0.9
LEVELS = ("strong", "possible", "weak")


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


def fit_features(
    scored: Sequence[Scored], language: str
) -> tuple[float, float, float, float] | None:
    """What ``Calibration.nothing_fits`` reads: the most similar of the items shown, the best
    fused score among them, whether that item is in another language, and its lift."""
    shown = scored[:SHOWN]
    if not shown:
        return None
    closest = max(shown, key=lambda c: c.similarity)
    other = bool(closest.payload.get("language")) and closest.payload.get("language") != language
    return closest.similarity, max(c.score for c in shown), float(other), closest.lift


def _questions(run: JudgedRun) -> list[tuple[float, float, float, float] | None]:
    return [
        fit_features(scored, run.languages.get(q.qid + "\x00" + q.text, q.language or ""))
        for q, scored in zip(run.queries, run.fused, strict=True)
    ]


def strong_cutoff(probabilities: Sequence[float], labels: Sequence[float]) -> float:
    """The least probability whose items and all above it were relevant at least
    ``STRONG_PRECISION`` of the time (1.0, never, if no such set is large enough)."""
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    hits = np.cumsum(np.asarray(labels, dtype=float)[order])
    counts = np.arange(1, len(order) + 1)
    good = np.flatnonzero((hits / counts >= STRONG_PRECISION) & (counts >= STRONG_MIN_ITEMS))
    if len(good) == 0:
        return 1.0
    return float(np.asarray(probabilities)[order][good[-1]])


def fit_rule(
    in_domain: Sequence[JudgedRun], out_of_domain: Sequence[JudgedRun]
) -> tuple[float, float, float, float]:
    """The "something fits" rule on the similarity before the lift and the best fused score
    (``fits_before_lift``; the "other language" weight 0): logistic on in- vs out-of-domain
    questions, its threshold moved until every out-of-domain set is flagged at least
    OUT_OF_DOMAIN_FLAGGED."""
    rows: list[tuple[float, float]] = []
    labels: list[float] = []
    outside: list[np.ndarray] = []
    for runs, label in ((in_domain, 1.0), (out_of_domain, 0.0)):
        for run in runs:
            found = [(f[0] - f[3], f[1]) for f in _questions(run) if f is not None]
            rows += found
            labels += [label] * len(found)
            if label == 0.0 and found:
                outside.append(np.asarray(found))
    a, b, d = fit_logistic(np.asarray(rows, dtype=float), np.asarray(labels))
    c = 0.0
    weights = np.asarray([a, b])
    # Up or down, to where the out-of-domain set that is hardest to flag is flagged just
    # often enough: every in-domain question that can be answered is.
    shift = -math.inf
    for features in outside:
        z = np.sort(features @ weights + d)
        needed = z[min(len(z) - 1, int(np.ceil(OUT_OF_DOMAIN_FLAGGED * len(z))) - 1)]
        shift = max(shift, float(needed) + 1e-6)
    return a, b, c, d - (shift if outside else 0.0)


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
    x = np.asarray(rows, dtype=float)
    a, b, c = fit_logistic(x, np.asarray(labels))
    probability = 1.0 / (1.0 + np.exp(-(x @ np.asarray([a, b]) + c)))
    fits = fit_rule(in_domain, out_of_domain)
    fa, fb, fc, fd = fits
    # The least similarity before the lift with which the rule can pass (best score 1); the
    # index similarity is never below it (lifts are not negative), so it bounds that too.
    floor = -(fd + max(fb, 0.0) + max(fc, 0.0)) / fa if fa > 0 else None
    inside = [f for run in in_domain for f in _questions(run) if f is not None]
    outside = [f for run in out_of_domain for f in _questions(run) if f is not None]
    return Calibration(
        model_id=model_id,
        strong=round(strong_cutoff(probability.tolist(), labels), 4),
        possible=round(float(np.mean(labels)), 4),
        duplicate=base.duplicate if base is not None else None,
        measured_on=date.today().isoformat(),
        similarity_floor=round(floor, 4) if floor is not None else None,
        weights=(round(a, 4), round(b, 4), round(c, 4)),
        fits=(round(fa, 4), round(fb, 4), round(fc, 4), round(fd, 4)),
        fits_before_lift=True,
        extra={
            "items": len(rows),
            "relevant_share": round(float(np.mean(labels)), 4),
            "questions_in_domain": len(inside),
            "questions_out_of_domain": len(outside),
        },
    )


def flagged(scored: Sequence[Scored], calibration: Calibration, language: str = "") -> bool:
    """``no_good_match`` as the Matcher decides it for these ranked items."""
    features = fit_features(scored, language)
    if features is None:
        return True
    similarity, score, other, lift = features
    if calibration.fits is None:  # without the rule: nothing better than weak fits either
        shown = scored[:SHOWN]
        if all(calibration.classify(c.similarity, c.score) == "weak" for c in shown):
            return True
    return calibration.nothing_fits(similarity, score, bool(other), lift)


def flag_rate(run: JudgedRun, calibration: Calibration) -> float:
    flags = [
        flagged(s, calibration, run.languages.get(q.qid + "\x00" + q.text, q.language or ""))
        for q, s in zip(run.queries, run.fused, strict=True)
    ]
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def reliability(run: JudgedRun, calibration: Calibration) -> dict[str, dict[str, float]]:
    """Share of relevant items per confidence class among the top-10 items."""
    levels: dict[str, list[bool]] = {level: [] for level in LEVELS}
    for query, scored in zip(run.queries, run.fused, strict=True):
        if not query.gold:
            continue
        no_match = flagged(
            scored, calibration, run.languages.get(query.qid + "\x00" + query.text, "")
        )
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
