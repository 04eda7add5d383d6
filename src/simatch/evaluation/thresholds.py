"""Recorded minimums (``indexes/eval/thresholds.json``) and the check ``simatch eval --check``.

The file maps dotted paths into the report to minimums, once for full runs and once for the
CI subset (which measures fewer questions and pairs, so its figures differ)::

    {"full": {"demo.retrieval.fused.all.recall@5": 0.85, ...},
     "subset": {"size": 20, "demo.retrieval.fused.all.recall@5": 0.8, ...}}

Gaps are recorded as differences that must stay above a minimum (for example
``demo.acceptance.fi→en_minus_en→en.recall@5 >= -0.05``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Failure:
    path: str
    value: float | None  # None: the report has no such figure
    minimum: float

    def __str__(self) -> str:
        shown = "missing" if self.value is None else f"{self.value:.4f}"
        return f"{self.path}: {shown} < {self.minimum:.4f}"


def lookup(report: dict[str, Any], path: str) -> float | None:
    node: Any = report
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) else None


def load_thresholds(path: Path, subset: int | None) -> dict[str, float]:
    data = json.loads(path.read_text(encoding="utf-8"))
    entry = data.get("subset" if subset else "full", {})
    return {k: float(v) for k, v in entry.items() if k != "size"}


def subset_size(path: Path) -> int | None:
    data = json.loads(path.read_text(encoding="utf-8"))
    size = data.get("subset", {}).get("size")
    return int(size) if size is not None else None


def check(report: dict[str, Any], minimums: dict[str, float]) -> list[Failure]:
    """Failures for figures below their minimum, or missing, among the sets in the report."""
    failures = []
    for path, minimum in sorted(minimums.items()):
        if path.split(".", 1)[0] not in report:
            continue  # that set was not run
        value = lookup(report, path)
        if value is None or value < minimum - 1e-9:
            failures.append(Failure(path, value, minimum))
    return failures
