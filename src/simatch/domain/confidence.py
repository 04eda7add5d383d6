"""Calibrated confidence: strong / possible / weak from measured score distributions.

E5 cosines sit in a narrow band (about 0.75-0.85), so fixed cut-offs on raw cosine are
meaningless across models. Thresholds are measured per model on judged data
(``simatch eval --calibrate`` writes ``indexes/calibration.json``) and looked up by model id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from simatch.domain.results import Confidence


@dataclass(frozen=True)
class Calibration:
    model_id: str
    strong: float  # similarity at or above which a match is usually relevant
    possible: float  # below this, a match is usually not relevant
    duplicate: float | None = None  # records this similar say the same thing
    measured_on: str = ""

    def classify(self, similarity: float) -> Confidence:
        if similarity >= self.strong:
            return "strong"
        if similarity >= self.possible:
            return "possible"
        return "weak"


def load_calibration(path: Path, model_id: str) -> Calibration | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    entry = data.get("models", {}).get(model_id)
    if entry is None:
        return None
    return Calibration(
        model_id=model_id,
        strong=float(entry["strong"]),
        possible=float(entry["possible"]),
        duplicate=float(entry["duplicate"]) if entry.get("duplicate") is not None else None,
        measured_on=str(entry.get("measured_on", "")),
    )
