"""Tatoeba fi-en (LASER test pairs) through the product's path.

The English sentences are imported as records (innovations whose title and summary are the
sentence) and each Finnish sentence is matched against them: top-1 is right when it is its own
translation. The other direction imports the Finnish side. Every sentence has exactly one
twin, so top-1 accuracy is recall@1. Reported per channel too (``Matcher.rank``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simatch.domain.query import Query
from simatch.evaluation.retrieval import CHANNEL_SETS, pair_name
from simatch.evaluation.workspace import Workspace
from simatch.ingest.readers import RawRow

FILE = Path("tatoeba_fin_eng") / "tatoeba_fin_eng.jsonl"
# Pairs from this id on measure the language means (simatch eval --calibrate); pairs below it
# are never used for fitting, so "held_out" figures are free of it.
FIT_FROM_ID = 500


@dataclass(frozen=True)
class Pair:
    id: int
    fi: str
    en: str


def load_pairs(evaldata: Path, limit: int | None = None) -> list[Pair]:
    pairs = []
    for line in (evaldata / FILE).read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            pairs.append(Pair(int(data["id"]), str(data["fi"]), str(data["en"])))
    return pairs[:limit] if limit else pairs


def records(pairs: Sequence[Pair], language: str) -> list[RawRow]:
    rows = []
    for n, pair in enumerate(pairs, start=1):
        text = pair.fi if language == "fi" else pair.en
        data = {
            "kind": "innovation",
            "id": f"t{pair.id}",
            "title": text,
            "summary": text,
            "language": language,
        }
        rows.append(RawRow("tatoeba", n, data))
    return rows


def run(workspace: Workspace, pairs: Sequence[Pair]) -> dict[str, Any]:
    report: dict[str, Any] = {"n": len(pairs)}
    for source, target in (("fi", "en"), ("en", "fi")):
        box = workspace.container(f"tatoeba-{target}-{len(pairs)}")
        workspace.ingest(box, records(pairs, target))
        hits: dict[str, list[bool]] = {"product": [], **{c: [] for c in CHANNEL_SETS}}
        for pair in pairs:
            text = pair.fi if source == "fi" else pair.en
            want = f"t{pair.id}"
            result = box.matcher.match(Query(text, limit=1, sections=("solutions",)))
            hits["product"].append(bool(result.solutions) and result.solutions[0].id == want)
            for channel, channels in CHANNEL_SETS.items():
                ranked = box.matcher.rank(Query(text, kinds=("innovation",)), channels)
                hits[channel].append(bool(ranked) and ranked[0].payload["id"] == want)
        held_out = [i for i, p in enumerate(pairs) if p.id < FIT_FROM_ID]
        entry = {name: round(sum(v) / len(v), 4) for name, v in hits.items()}
        entry["top1"] = entry.pop("product")
        if held_out and len(held_out) < len(pairs):
            entry["top1_held_out"] = round(
                sum(hits["product"][i] for i in held_out) / len(held_out), 4
            )
        report[pair_name(source, target)] = entry
    return report
