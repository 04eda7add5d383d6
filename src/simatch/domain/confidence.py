"""Calibrated confidence: strong / possible / weak from measured score distributions.

E5 cosines sit in a narrow band (about 0.75-0.85), so fixed cut-offs on raw cosine are
meaningless across models. Everything here is measured per model on judged data
(``simatch eval --calibrate`` writes ``indexes/calibration.json``) and looked up by model id:

- ``weights``: a logistic model of "this item is relevant" from the item's dense similarity
  (language-centred cosine) and its fused rank score (0..1; 1 = first in both channels).
  ``strong`` and ``possible`` are cut-offs on that probability: "strong" items were judged
  relevant about 7 times in 10 or more; "possible" starts at the share of relevant items
  among all top-10 items, so a "weak" item is less likely relevant than an average one.
- ``fits``: whether anything in the index is about the question at all (``nothing_fits``),
  a logistic rule on the most similar of the items shown: its dense similarity, the best
  fused score (1 = first in both channels: the channels agree), and whether that item is in
  another language than the question (a record in another language is lifted onto the same
  scale for ranking, ``domain.centring``, but needs more similarity to show that anything
  fits). Ranks are relative (some record is always first), so only absolute scores can tell.
  Fitted on judged in-domain and out-of-domain questions (``simatch eval --set thirdparty
  --calibrate``).
- ``fits_before_lift``: the rule reads that item's similarity *before* the lift its language
  got for ranking (``Scored.lift``), so ranking and "does anything fit" have separate scales:
  the lift is chosen per question language for ranking and differs by direction (Finnish
  questions lift English records less than English questions lift Finnish ones), which one
  "other language" term cannot tell apart. Fitted so since issue 10's sixth round
  (``benchmarks/README.md``); the "other language" weight is then 0. Older files read the
  lifted similarity.
- ``similarity_floor``: below this similarity nothing fits. With ``fits``, the least
  similarity with which the rule can pass at all (what callers that prune by similarity
  need); without it, the rule itself (Youden's J between the best similarity of questions
  without and with a relevant record).
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
    # similarity, best fused score, other language, intercept: something fits when >= 0
    fits: tuple[float, float, float, float] | None = None
    fits_before_lift: bool = False  # the rule and the floor read similarity - lift
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # provenance, figures

    def probability(self, similarity: float, score: float = 1.0) -> float:
        """Estimated probability that an item with this similarity and fused score is relevant."""
        if self.weights is None:
            return similarity
        a, b, c = self.weights
        z = a * similarity + b * score + c
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def nothing_fits(
        self,
        best_similarity: float,
        best_score: float = 1.0,
        other_language: bool = False,
        lift: float = 0.0,
    ) -> bool:
        """True when a result has no good match: its most similar item has this similarity
        (of which ``lift`` is what its language gained for ranking, and is in
        ``other_language`` than the question), its best fused score is ``best_score``. The
        defaults are the most favourable (a lower bound)."""
        if self.fits_before_lift:
            best_similarity -= lift
        if self.similarity_floor is not None and best_similarity < self.similarity_floor:
            return True
        if self.fits is None:
            return False
        a, b, c, d = self.fits
        return a * best_similarity + b * best_score + c * float(other_language) + d < 0.0

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
            "fits": list(self.fits) if self.fits is not None else None,
            "fits_before_lift": self.fits_before_lift,
            "measured_on": self.measured_on,
        }
        entry.update(self.extra)
        return entry


def load_calibration(path: Path, model_id: str) -> Calibration | None:
    entry = read_entry(path, model_id)
    if entry is None:
        return None
    known = {"strong", "possible", "duplicate", "similarity_floor", "weights", "fits"}
    known.add("fits_before_lift")
    known.add("measured_on")
    fits = entry.get("fits")
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
        fits=(float(fits[0]), float(fits[1]), float(fits[2]), float(fits[3])) if fits else None,
        fits_before_lift=bool(entry.get("fits_before_lift", False)),
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
