"""``simatch eval``: every set through the product's ingest and match path, one report.

Sets: ``demo`` (the project's judged questions on the demo data: retrieval per channel and
language pair, honesty, duplicates), ``tatoeba`` and ``turku`` (``../shared/evaldata``).
With ``calibrate``, the language means are refitted first (the demo index is rebuilt with
them), then confidence and the duplicate threshold; both files are written to ``indexes/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from simatch.config import REPO_ROOT, Settings
from simatch.domain.centring import load_centring, save_centring
from simatch.domain.confidence import load_calibration, save_calibration
from simatch.evaluation import calibrate, duplicates, tatoeba, turku
from simatch.evaluation.dataset import project_set
from simatch.evaluation.judged import Split
from simatch.evaluation.retrieval import honesty_report, retrieval_report
from simatch.evaluation.suite_report import calibrate_on_dev, suite_report
from simatch.evaluation.workspace import Workspace

SETS: tuple[str, ...] = ("demo", "tatoeba", "turku")
THIRD_PARTY = "thirdparty"  # the suite of simatch.evaluation.suite (slow: not part of "all")
# The public sets live beside the repository, never in it; SIMATCH_EVALDATA points elsewhere
# (a git worktree, a CI runner with the sets mounted).
DEFAULT_EVALDATA = Path(os.environ.get("SIMATCH_EVALDATA") or REPO_ROOT.parent / "shared/evaldata")
Log = Callable[[str], None]


@dataclass(frozen=True)
class EvalOptions:
    sets: Sequence[str] = SETS
    subset: int | None = None  # demo: answerable questions; tatoeba: pairs; turku: per class
    calibrate: bool = False
    evaldata: Path = DEFAULT_EVALDATA
    workdir: Path | None = None  # default: <data dir>/eval
    cache: Path | None = None  # embedding cache file; default: in workdir
    split: Split = "test"  # third-party suite: which questions are measured


def run_eval(settings: Settings, options: EvalOptions, log: Log = lambda _: None) -> dict[str, Any]:
    if options.calibrate and options.subset:
        raise ValueError("calibrate on the full sets only (no subset)")
    indexes = settings.index.indexes_dir
    root = options.workdir or settings.index.data_dir / "eval"
    workspace = Workspace(settings, root, cache=options.cache)
    report: dict[str, Any] = {
        "model": workspace.embedder.model_id,
        "commit": calibrate.current_commit(REPO_ROOT),
        "date": date.today().isoformat(),
        "subset": options.subset,
    }
    try:
        if THIRD_PARTY in options.sets:
            report[THIRD_PARTY] = _third_party(workspace, settings, options, report, log)
        if options.calibrate and set(options.sets) != {THIRD_PARTY}:
            log("fitting language means on Tatoeba")
            previous = load_centring(indexes / "language_means.json", workspace.embedder.model_id)
            centring = calibrate.fit_language_means(workspace, options.evaldata, previous)
            save_centring(indexes / "language_means.json", centring)
            report["language_means"] = centring.source
        if "demo" in options.sets:
            log("demo: judged questions")
            report["demo"] = _demo(workspace, settings, options, report["commit"], log)
        if "tatoeba" in options.sets:
            log("tatoeba")
            pairs = tatoeba.load_pairs(options.evaldata, options.subset)
            report["tatoeba"] = tatoeba.run(workspace, pairs)
        if "turku" in options.sets:
            log("turku")
            graded = turku.load_pairs(options.evaldata, options.subset)
            box = workspace.container("demo")
            report["turku"] = turku.run(workspace.embedder, graded, box.centring)
    finally:
        workspace.close()
    rounded: dict[str, Any] = calibrate.round_floats(report)
    return rounded


def _third_party(
    workspace: Workspace, settings: Settings, options: EvalOptions, report: dict[str, Any], log: Log
) -> dict[str, Any]:
    path = settings.match.calibration_file or settings.index.indexes_dir / "calibration.json"
    box = workspace.container("demo")
    calibration = box.calibration
    fitted: dict[str, Any] = {}
    if options.calibrate:
        base = load_calibration(path, workspace.embedder.model_id)
        calibration, fitted = calibrate_on_dev(
            workspace, options.evaldata, path, base, report["commit"], log
        )
    out = suite_report(workspace, options.evaldata, options.split, options.subset, calibration, log)
    if fitted:
        out["calibration"] = fitted
    return out


def _demo(
    workspace: Workspace, settings: Settings, options: EvalOptions, commit: str, log: Log
) -> dict[str, Any]:
    indexes = settings.index.indexes_dir
    eval_set = project_set(indexes).subset(options.subset)
    box = workspace.container("demo")
    ingested = workspace.ingest(box, eval_set.rows())
    log(f"demo: {ingested.added + ingested.updated} records indexed, {ingested.embedded} embedded")
    matcher = box.matcher
    retrieval, fused = retrieval_report(matcher, eval_set)
    flags = duplicates.all_scores(box)
    judged_path = indexes / "eval" / "duplicates.jsonl"
    judged = duplicates.load_pairs(judged_path) if judged_path.exists() else set()
    out: dict[str, Any] = {"retrieval": retrieval, "acceptance": acceptance(retrieval)}
    calibration = box.calibration
    if options.calibrate:
        weights, floor, stats = calibrate.fit_confidence(fused)
        nearest = duplicates.nearest_scores(flags)
        right, wrong = duplicates.split_scores(flags, judged)
        threshold, dup_stats = calibrate.fit_duplicate_threshold(
            list(nearest.values()), right, wrong
        )
        provenance = {
            "commit": commit,
            "data": "indexes/eval/queries.jsonl on indexes/demo",
            "confidence_fit": stats,
            "duplicate_fit": dup_stats,
            "language_means": box.centring.source if box.centring else None,
            "dense": box.centring.signature if box.centring else "",
        }
        fitted = calibrate.calibration(
            workspace.embedder.model_id,
            weights,
            floor,
            float(stats["relevant_share"]),
            threshold,
            provenance,
        )
        path = settings.match.calibration_file or indexes / "calibration.json"
        save_calibration(path, fitted)
        calibration = matcher.calibration = fitted
        log(f"calibration written to {path}")
    out["honesty"] = honesty_report(matcher, eval_set, fused, calibration)
    if judged:
        dup_threshold = calibration.duplicate if calibration else None
        out["duplicates"] = duplicates.report(flags, judged, dup_threshold)
    return out


def acceptance(retrieval: dict[str, Any]) -> dict[str, float]:
    """The issue's criteria as differences (>= 0 when met, for the cross-language gaps
    >= -0.05): fused against the best single channel, cross- against same-language pairs."""

    def r5(channel: str, pair: str) -> float:
        return float(retrieval[channel][pair]["recall@5"])

    best_single = max(r5("dense", "all"), r5("lexical", "all"))
    return {
        "fused_minus_best_single_recall@5": r5("fused", "all") - best_single,
        "fi→en_minus_en→en_recall@5": r5("fused", "fi→en") - r5("fused", "en→en"),
        "en→fi_minus_fi→fi_recall@5": r5("fused", "en→fi") - r5("fused", "fi→fi"),
        "fi→en_minus_fi→fi_recall@5": r5("fused", "fi→en") - r5("fused", "fi→fi"),
        "en→fi_minus_en→en_recall@5": r5("fused", "en→fi") - r5("fused", "en→en"),
    }
