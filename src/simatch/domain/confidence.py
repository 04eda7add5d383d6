"""Calibrated confidence: strong / possible / weak from measured score distributions.

E5 cosines sit in a narrow band (about 0.75-0.85), so fixed cut-offs on raw cosine are
meaningless across models. Everything here is measured per model on judged data
(``simatch eval --calibrate`` writes ``indexes/calibration.json``) and looked up by model id:

- ``weights``: a logistic model of "this item is relevant" from the item's dense similarity
  (language-centred cosine) and its fused rank score (0..1; 1 = first in both channels).
  ``strong`` and ``possible`` are cut-offs on that probability: "strong" items were judged
  relevant about 7 times in 10 or more; "possible" starts at the share of relevant items
  among all top-10 items, so a "weak" item is less likely relevant than an average one.
- ``similarity_floor``: when even the best item of a result is less similar than this,
  nothing in the index is about the question and every item is weak (``nothing_fits``).
  Ranks are relative (some record is always first), so only an absolute score can tell; the
  floor separates the best similarity of questions without any relevant record from that of
  questions with one (Youden's J).
- ``duplicate``: the near-duplicate score (``simatch.ingest.duplicates``) from which two
  records are flagged as saying the same thing.

Without ``weights`` (an older hand-written file), ``strong`` and ``possible`` are cut-offs on
the similarity itself.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simatch.domain.per_model import read_entry, write_entry
from simatch.domain.results import Confidence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Calibration:
    model_id: str
    strong: float  # probability (or similarity, without weights) from which an item is strong
    possible: float  # below this an item is weak
    duplicate: float | None = None  # near-duplicate score from which records are flagged
    measured_on: str = ""
    similarity_floor: float | None = None
    weights: tuple[float, float, float] | None = None  # similarity, fused score, intercept
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # provenance, figures

    def probability(self, similarity: float, score: float = 1.0) -> float:
        """Estimated probability that an item with this similarity and fused score is relevant."""
        if self.weights is None:
            return similarity
        a, b, c = self.weights
        z = a * similarity + b * score + c
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def nothing_fits(self, best_similarity: float) -> bool:
        """True when a result whose best item has this similarity has no good match."""
        return self.similarity_floor is not None and best_similarity < self.similarity_floor

    def classify(self, similarity: float, score: float = 1.0) -> Confidence:
        p = self.probability(similarity, score)
        if p >= self.strong:
            return "strong"
        if p >= self.possible:
            return "possible"
        return "weak"

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "strong": self.strong,
            "possible": self.possible,
            "duplicate": self.duplicate,
            "similarity_floor": self.similarity_floor,
            "weights": list(self.weights) if self.weights is not None else None,
            "measured_on": self.measured_on,
        }
        entry.update(self.extra)
        return entry


def load_calibration(path: Path, model_id: str) -> Calibration | None:
    entry = read_entry(path, model_id)
    if entry is None:
        return None
    known = {"strong", "possible", "duplicate", "similarity_floor", "weights", "measured_on"}
    weights = entry.get("weights")
    floor = entry.get("similarity_floor")
    return Calibration(
        model_id=model_id,
        strong=float(entry["strong"]),
        possible=float(entry["possible"]),
        duplicate=float(entry["duplicate"]) if entry.get("duplicate") is not None else None,
        measured_on=str(entry.get("measured_on", "")),
        similarity_floor=float(floor) if floor is not None else None,
        weights=(float(weights[0]), float(weights[1]), float(weights[2])) if weights else None,
        extra={k: v for k, v in entry.items() if k not in known},
    )


def calibration_for(path: Path, model_id: str, dense: str) -> Calibration | None:
    """``load_calibration``, used only if it was fitted on the same dense vectors (``dense``:
    the ``LanguageCentring.signature`` in use, "" for raw vectors): thresholds describe
    scores in one vector space, and other language means move them."""
    found = load_calibration(path, model_id)
    if found is not None and found.extra.get("dense", dense) != dense:
        log.warning(
            "%s was fitted on dense vectors %r but this process uses %r; confidence "
            "is not calibrated until `simatch eval --calibrate` runs again",
            path,
            found.extra.get("dense"),
            dense or "raw",
        )
        return None
    return found


def save_calibration(path: Path, calibration: Calibration) -> None:
    """Write or replace this model's entry; other models' entries are kept."""
    write_entry(path, calibration.model_id, calibration.to_json(), indent=2, ensure_ascii=False)
