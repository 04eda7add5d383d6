"""Fitting what the product measures per model: language means, confidence, duplicates.

- ``fit_language_means``: mean query and document vectors per language over the Tatoeba
  pairs from id 500 on (parallel sentences: the means differ by language only);
- ``fit_confidence``: a logistic model of "relevant" from (dense similarity, fused score) of
  the top-10 items of every judged question, and the similarity floor that best separates
  the best item of questions without any relevant record from that of the others (Youden's
  J). An item is "strong" from a probability of 0.7, "possible" from the share of relevant
  items among all top-10 items (so "weak" means less likely than an average item near the
  top);
- ``fit_duplicate_threshold``: the cut-off that best separates the judged duplicate pairs
  (``indexes/eval/duplicates.jsonl``) from every other pair the detector scores (Youden's J,
  midway between samples). Without judged pairs: near-duplicates as outliers among the
  records' best scores, at a modified z-score (Iglewicz and Hoaglin) of 3.5; that rule gave
  0.24 on the demo data and flagged two pairs of unrelated calls that share a programme
  period, so judged pairs are preferred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from simatch.domain.centring import LanguageCentring, fit_centring
from simatch.domain.confidence import Calibration
from simatch.evaluation import tatoeba
from simatch.evaluation.retrieval import Ranked
from simatch.evaluation.workspace import Workspace
from simatch.ingest.cache import text_key

STRONG = 0.7  # probability of relevance from which an item is "strong"
TOP_ITEMS = 10  # items per question used to fit the confidence model
BEST_OF = 5  # the best similarity among this many first items decides "nothing fits"
OUTLIER_Z = 3.5


def fit_language_means(
    workspace: Workspace, evaldata: Path, previous: LanguageCentring | None = None
) -> LanguageCentring:
    """Means refitted on Tatoeba; the cross-language lifts of ``previous`` are kept (they
    are chosen on judged third-party dev data, benchmarks/README.md)."""
    pairs = [p for p in tatoeba.load_pairs(evaldata) if p.id >= tatoeba.FIT_FROM_ID]
    texts = {"fi": [p.fi for p in pairs], "en": [p.en for p in pairs]}
    queries = {lang: workspace.embedder.embed_queries(t) for lang, t in texts.items()}
    documents = {lang: _documents(workspace, t) for lang, t in texts.items()}
    source = f"tatoeba_fin_eng pairs {tatoeba.FIT_FROM_ID}-{pairs[-1].id} ({len(pairs)})"
    return fit_centring(
        workspace.embedder.model_id,
        queries,
        documents,
        source,
        date.today().isoformat(),
        offsets=previous.offsets if previous is not None else None,
        offsets_source=previous.offsets_source if previous is not None else "",
    )


def _documents(workspace: Workspace, texts: Sequence[str]) -> np.ndarray:
    model = workspace.embedder.model_id
    keys = [text_key(model, t) for t in texts]
    found = workspace.cache.get_many(keys)
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        fresh = workspace.embedder.embed_documents([texts[i] for i in missing])
        new = {keys[i]: fresh[j] for j, i in enumerate(missing)}
        workspace.cache.put_many(new)
        found.update(new)
    return np.stack([found[k] for k in keys])


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 5000
) -> tuple[float, ...]:
    """Weights per column of ``x`` plus the intercept (gradient descent on standardised x)."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-9] = 1.0  # a constant column (rounding leaves it a tiny spread) adds nothing
    z = np.c_[(x - mean) / std, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0.0])
    weights = w[:-1] / std
    intercept = w[-1] - float((w[:-1] * mean / std).sum())
    return (*(float(v) for v in weights), float(intercept))


def youden_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The cut-off maximising TPR - FPR (positives at or above it), midway between samples."""
    pos, neg = np.asarray(positives), np.asarray(negatives)
    values = np.unique(np.r_[pos, neg])
    best, best_j = float(values[0]), -1.0
    for value in values:
        j = float((pos >= value).mean() - (neg >= value).mean())
        if j > best_j:
            best, best_j = float(value), j
    lower = values[values < best]
    return (best + float(lower.max())) / 2 if len(lower) else best


def fit_confidence(
    ranked: Sequence[Ranked],
) -> tuple[tuple[float, float, float], float, dict[str, Any]]:
    rows: list[tuple[float, float]] = []
    labels: list[float] = []
    best_answerable: list[float] = []
    best_unanswerable: list[float] = []
    for r in ranked:
        top = r.scored[:TOP_ITEMS]
        if not top:
            continue
        best = max(c.similarity for c in top[:BEST_OF])
        (best_answerable if r.query.answerable else best_unanswerable).append(best)
        if r.query.answerable:
            for cand in top:
                rows.append((cand.similarity, cand.score))
                labels.append(float(str(cand.payload["id"]) in r.query.relevant))
    a, b, c = fit_logistic(np.asarray(rows, dtype=float), np.asarray(labels))
    floor = youden_threshold(best_answerable, best_unanswerable)
    stats = {
        "relevant_share": round(float(np.mean(labels)), 4),
        "items": len(rows),
        "relevant_items": int(sum(labels)),
        "questions_with_relevant": len(best_answerable),
        "questions_without": len(best_unanswerable),
        "best_similarity_without_relevant_max": round(max(best_unanswerable, default=0.0), 4),
        "best_similarity_with_relevant_p10": round(float(np.quantile(best_answerable, 0.1)), 4),
    }
    return (a, b, c), floor, stats


def fit_duplicate_threshold(
    nearest: Sequence[float], judged: Sequence[float], others: Sequence[float]
) -> tuple[float, dict[str, Any]]:
    """``nearest``: each record's best score; ``judged``: scores of the judged duplicate
    pairs; ``others``: scores of every other scored pair."""
    values = np.asarray(nearest, dtype=float)
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) or 1e-6
    outlier = median + OUTLIER_Z * mad / 0.6745
    stats: dict[str, Any] = {
        "records": len(values),
        "outlier_rule_threshold": round(outlier, 4),
        "judged_pairs": len(judged),
    }
    if not judged or not others:
        stats["rule"] = "outlier"
        return outlier, stats
    stats["rule"] = "youden on judged pairs"
    stats["judged_min"] = round(min(judged), 4)
    stats["others_max"] = round(max(others), 4)
    return youden_threshold(judged, others), stats


def calibration(
    model_id: str,
    weights: tuple[float, float, float],
    floor: float,
    possible: float,
    duplicate: float,
    provenance: dict[str, Any],
) -> Calibration:
    return Calibration(
        model_id=model_id,
        strong=STRONG,
        possible=round(possible, 4),
        duplicate=round(duplicate, 4),
        measured_on=date.today().isoformat(),
        similarity_floor=round(floor, 4),
        weights=(round(weights[0], 4), round(weights[1], 4), round(weights[2], 4)),
        extra=provenance,
    )


def current_commit(repo: Path) -> str:
    """The checked-out commit, read from .git (no git process); "" when unknown."""
    git = repo / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <its own git dir>", refs in the common one
            git = Path(git.read_text(encoding="utf-8").split(":", 1)[1].strip())
        common = git
        if (git / "commondir").exists():
            common = git / (git / "commondir").read_text(encoding="utf-8").strip()
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        for where in (git, common):
            if (where / ref).exists():
                return (where / ref).read_text(encoding="utf-8").strip()[:12]
        for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except (OSError, IndexError):
        return ""
    return ""


def round_floats(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [round_floats(v, digits) for v in value]
    return value
