"""``simatch eval --set thirdparty``: the suite's figures, and its calibration with ``--calibrate``.

With ``--calibrate`` the confidence model is fitted on the ``dev`` questions of every set
(``confidence_fit``), checked set by set with the set left out, and written to
``indexes/calibration.json``; the figures are then measured on the split asked for (``test``
for what is reported).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simatch.domain.confidence import Calibration, save_calibration
from simatch.evaluation import confidence_fit
from simatch.evaluation.judged import Split
from simatch.evaluation.judged_run import JudgedOptions, JudgedRun, Log, judged_report
from simatch.evaluation.suite import NAMES, OUT_OF_DOMAIN, QUICK, SUITE, run_suite, spec_of
from simatch.evaluation.workspace import Workspace

PAIRS_SHOWN = ("all", "en→all", "fi→all", "en→all paired", "fi→all paired", "fi→en", "en→fi")


def calibrate_on_dev(
    workspace: Workspace,
    evaldata: Path,
    path: Path,
    base: Calibration | None,
    commit: str,
    log: Log,
) -> tuple[Calibration, dict[str, Any]]:
    runs = run_suite(workspace, evaldata, "dev", None, log)
    inside = {n: r for n, r in runs.items() if n in {s.name for s in SUITE}}
    outside = {n: r for n, r in runs.items() if n in {s.name for s in OUT_OF_DOMAIN}}
    model = workspace.embedder.model_id
    fitted = confidence_fit.fit(list(inside.values()), list(outside.values()), model, base)
    cv = confidence_fit.leave_one_out(inside, outside, model, base)
    centring = workspace.container("calibration-meta").centring
    fitted = Calibration(
        model_id=fitted.model_id,
        strong=fitted.strong,
        possible=fitted.possible,
        duplicate=fitted.duplicate,
        measured_on=fitted.measured_on,
        similarity_floor=fitted.similarity_floor,
        weights=fitted.weights,
        fits=fitted.fits,
        fits_before_lift=fitted.fits_before_lift,
        extra={
            **fitted.extra,
            "commit": commit,
            "data": "third-party dev split: " + ", ".join(runs),
            "dense": centring.signature if centring is not None else "",
            "duplicate_fit": (base.extra.get("duplicate_fit") if base else None),
        },
    )
    save_calibration(path, fitted)
    log(f"calibration written to {path}")
    # The dev figures too: settings are chosen on them, never on the split reported.
    dev = {name: set_report(name, run, fitted) for name, run in runs.items()}
    return fitted, {"fitted_on": "dev", "leave_one_set_out": cv, "dev": dev}


def suite_report(
    workspace: Workspace,
    evaldata: Path,
    split: Split,
    subset: int | None,
    calibration: Calibration | None,
    log: Log,
) -> dict[str, Any]:
    """Every set, or with ``subset`` the quick ones (``QUICK``) on their first questions."""
    names = QUICK if subset else NAMES
    runs = run_suite(workspace, evaldata, split, subset, log, names)
    out: dict[str, Any] = {"split": split}
    for name, run in runs.items():
        out[name] = set_report(name, run, calibration)
    return out


def set_report(name: str, run: JudgedRun, calibration: Calibration | None) -> dict[str, Any]:
    spec = spec_of(name)
    entry: dict[str, Any] = {"questions": len(run.queries)}
    if spec.foreign is None:
        full = judged_report(run, JudgedOptions(records=[], queries=[]))
        channels = {
            channel: {pair: m for pair, m in pairs.items() if pair in PAIRS_SHOWN}
            for channel, pairs in full["channels"].items()
        }
        entry.update(
            metric=spec.metric,
            pair=spec.pair,
            channels=channels,
            margins=full["margins"],
            target=target(channels, spec.metric, spec.pair),
        )
    if calibration is not None:
        entry["no_good_match"] = confidence_fit.flag_rate(run, calibration)
        if spec.foreign is None:
            entry["answered"] = round(1.0 - entry["no_good_match"], 4)
            entry["reliability"] = confidence_fit.reliability(run, calibration)
    return entry


def target(channels: dict[str, Any], metric: str, pair: str) -> dict[str, float]:
    """The set's headline figure for fused and both baselines, and fused's margin."""

    def figure(channel: str) -> float:
        found = channels[channel].get(pair) or channels[channel]["all"]
        return float(found[metric])

    fused = figure("fused")
    best = max(figure("bare_model"), figure("bm25"))
    out = {
        "fused": fused,
        "bare_model": figure("bare_model"),
        "bm25": figure("bm25"),
        "fused_minus_best_baseline": round(fused - best, 4),
    }
    english = channels["fused"].get("en→all paired")
    if pair == "fi→all paired" and english:
        # The same questions in English: how far Finnish is behind.
        out["fused_en_same_questions"] = float(english[metric])
        out["fi_minus_en"] = round(fused - float(english[metric]), 4)
    return out
