"""The near-duplicate detector on judged pairs (``indexes/eval/duplicates.jsonl``).

Every record is checked against the whole index with the detector's own scoring
(``simatch.ingest.duplicates``); a flagged pair is right when it is one of the listed pairs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simatch.domain.records import record_from_payload
from simatch.evaluation.workspace import keys_of, payloads
from simatch.ingest.duplicates import DuplicateDetector
from simatch.ingest.report import DuplicateFlag
from simatch.wiring import Container

# Low enough that the detector scores every lexical neighbour it looks at.
SCORE_ALL = 0.02


def load_pairs(path: Path) -> set[frozenset[str]]:
    pairs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            pairs.add(frozenset((str(data["a"]), str(data["b"]))))
    return pairs


def all_scores(box: Container) -> list[DuplicateFlag]:
    """Scores of every candidate pair the detector considers, highest first."""
    found = payloads(box, keys_of(box))
    records = [record_from_payload(p) for p in found.values()]
    return DuplicateDetector(box.index, box.analyzer, SCORE_ALL).check(records)


def nearest_scores(flags: Sequence[DuplicateFlag]) -> dict[str, float]:
    """Each record's best score with any other record."""
    best: dict[str, float] = {}
    for flag in flags:
        for key in (flag.key, flag.other):
            best[key] = max(best.get(key, 0.0), flag.score)
    return best


def ids(flag: DuplicateFlag) -> frozenset[str]:
    return frozenset(k.split(":", 1)[1] for k in (flag.key, flag.other))


def split_scores(
    flags: Sequence[DuplicateFlag], judged: set[frozenset[str]]
) -> tuple[list[float], list[float]]:
    """Scores of the judged duplicate pairs, and of every other scored pair."""
    right = [f.score for f in flags if ids(f) in judged]
    wrong = [f.score for f in flags if ids(f) not in judged]
    return right, wrong


def report(
    flags: Sequence[DuplicateFlag], judged: set[frozenset[str]], threshold: float | None
) -> dict[str, Any]:

    planted = {" / ".join(sorted(ids(f))): f.score for f in flags if ids(f) in judged}
    others = [f for f in flags if ids(f) not in judged]
    out: dict[str, Any] = {
        "pairs_judged": len(judged),
        "judged_pair_scores": planted,
        "best_other_pair": (
            {"pair": " / ".join(sorted(ids(others[0]))), "score": others[0].score}
            if others
            else None
        ),
        "threshold": threshold,
    }
    if threshold is not None:
        flagged = [f for f in flags if f.score >= threshold]
        right = sum(1 for f in flagged if ids(f) in judged)
        out["flagged"] = len(flagged)
        out["precision"] = round(right / len(flagged), 4) if flagged else 1.0
        out["recall"] = round(right / len(judged), 4) if judged else 1.0
    return out
