"""Turku Paraphrase Corpus (Finnish, test split of release 1): graded pairs.

Which labels count: a pair is **positive** when its label is 4 with or without flags
("4", "4<", "4>", "4i", "4s" and their combinations: paraphrases in all contexts; the flags
mark a minor difference, a style difference or a direction of generality), and **negative**
when its label is exactly "2" (related but not a paraphrase). Label 3 (paraphrase only in
context) and anything else is left out. Reported: ROC-AUC of the pair similarity, positives
against negatives (1.0 = every label-4 pair scores above every label-2 pair), also for plain
"4" only.

Label-2 pairs are near-paraphrases on the same topic, mostly sharing words and names, so a
sentence embedding barely separates them from label 4 (raw cosine about 0.6). Also reported:
positives against **mismatched** pairs (each positive's first sentence with the second
sentence of the positive 7 places on, i.e. unrelated sentences); the 0.95 quoted for the bare
model in the design notes matches this reading, not label 2.

The similarity is the product's: both sentences embedded as questions (E5's recommendation
for symmetric tasks) and centred for Finnish when the model has language means; the raw
cosine is reported beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simatch.domain.centring import LanguageCentring
from simatch.domain.ports import Embedder, Vector
from simatch.evaluation.metrics import roc_auc

FILE = Path("turku_paraphrase") / "test_release1.jsonl"
NEGATIVE = "2"
MISMATCH_SHIFT = 7


def is_positive(label: str) -> bool:
    return label.startswith("4")


@dataclass(frozen=True)
class GradedPair:
    txt1: str
    txt2: str
    label: str


def load_pairs(evaldata: Path, per_class: int | None = None) -> list[GradedPair]:
    """Positives and negatives; with ``per_class``, the first that many of each (file order)."""
    positives: list[GradedPair] = []
    negatives: list[GradedPair] = []
    for line in (evaldata / FILE).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        pair = GradedPair(str(data["txt1"]), str(data["txt2"]), str(data["label"]))
        if is_positive(pair.label):
            positives.append(pair)
        elif pair.label == NEGATIVE:
            negatives.append(pair)
    if per_class:
        return positives[:per_class] + negatives[:per_class]
    return positives + negatives


def run(
    embedder: Embedder, pairs: Sequence[GradedPair], centring: LanguageCentring | None
) -> dict[str, Any]:
    first = embedder.embed_queries([p.txt1 for p in pairs])
    second = embedder.embed_queries([p.txt2 for p in pairs])
    labels = [p.label for p in pairs]
    any4 = np.array([is_positive(label) for label in labels])
    plain4 = np.array([label == "4" for label in labels])
    negative = np.array([label == NEGATIVE for label in labels])
    report: dict[str, Any] = {
        "n_positive": int(any4.sum()),
        "n_plain_4": int(plain4.sum()),
        "n_negative": int(negative.sum()),
        "centred": centring is not None,
    }
    spaces: dict[str, tuple[Vector, Vector]] = {"raw_cosine": (first, second)}
    if centring is not None:
        spaces["product"] = (
            np.stack([centring.centre_query(v, "fi") for v in first]),
            np.stack([centring.centre_query(v, "fi") for v in second]),
        )
    else:
        spaces["product"] = spaces["raw_cosine"]
    for name, (a, b) in spaces.items():
        similarity = np.sum(a * b, axis=1)
        pos_a, pos_b = a[any4], b[any4]
        mismatched = np.sum(pos_a * np.roll(pos_b, MISMATCH_SHIFT, axis=0), axis=1)
        suffix = "" if name == "product" else "_raw_cosine"
        report["roc_auc" + suffix] = _auc(similarity[any4], similarity[negative])
        report["roc_auc_plain_4" + suffix] = _auc(similarity[plain4], similarity[negative])
        report["roc_auc_vs_mismatched" + suffix] = _auc(similarity[any4], mismatched)
    return report


def _auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    return round(roc_auc([float(x) for x in positives], [float(x) for x in negatives]), 4)
