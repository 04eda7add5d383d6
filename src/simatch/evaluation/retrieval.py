"""The project's evaluation set through the Matcher: per channel and per language pair.

A language pair "fi→en" is a Finnish question judged only on the relevant records written in
English: the ranking is the product's (all languages compete for the places), the relevant
set is restricted to the target language, and questions without a relevant record in that
language are skipped. "fi→all" counts every relevant record.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from simatch.domain.confidence import Calibration
from simatch.domain.matcher import Channel, Matcher, Scored
from simatch.domain.query import Query
from simatch.evaluation.dataset import QUERY_LANGUAGES, EvalQuery, EvalSet
from simatch.evaluation.metrics import mean_metrics

CHANNEL_SETS: dict[str, tuple[Channel, ...]] = {
    "dense": ("dense",),
    "lexical": ("lexical",),
    "fused": ("dense", "lexical"),
}
TARGET_LANGUAGES: tuple[str, ...] = ("fi", "en")


def pair_name(query_language: str, target: str) -> str:
    return f"{query_language}→{target}"


@dataclass(frozen=True)
class Ranked:
    """One question text and the records ranked for it."""

    query: EvalQuery
    language: str  # of the question
    scored: list[Scored]

    @property
    def ids(self) -> list[str]:
        return [str(s.payload["id"]) for s in self.scored]


def rank_all(matcher: Matcher, eval_set: EvalSet, channel: str = "fused") -> list[Ranked]:
    channels = CHANNEL_SETS[channel]
    out = []
    for query, language, text in _texts(eval_set.queries):
        scored = matcher.rank(Query(text, kinds=query.kinds), channels)
        out.append(Ranked(query, language, scored))
    return out


def pair_metrics(ranked: Sequence[Ranked], languages: dict[str, str]) -> dict[str, Any]:
    """Metrics over both question languages ("all"), per question language ("fi→all") and
    per language pair ("fi→en")."""
    report: dict[str, Any] = {
        "all": mean_metrics((r.ids, r.query.relevant) for r in ranked).as_dict()
    }
    for source in QUERY_LANGUAGES:
        mine = [r for r in ranked if r.language == source]
        report[pair_name(source, "all")] = mean_metrics(
            (r.ids, r.query.relevant) for r in mine
        ).as_dict()
        for target in TARGET_LANGUAGES:
            report[pair_name(source, target)] = mean_metrics(
                (r.ids, {i for i in r.query.relevant if languages.get(i) == target}) for r in mine
            ).as_dict()
    return report


def retrieval_report(matcher: Matcher, eval_set: EvalSet) -> tuple[dict[str, Any], list[Ranked]]:
    """Per channel and pair; also returns the fused rankings (for calibration)."""
    report: dict[str, Any] = {}
    fused: list[Ranked] = []
    for channel in CHANNEL_SETS:
        ranked = rank_all(matcher, eval_set, channel)
        report[channel] = pair_metrics(ranked, eval_set.languages)
        if channel == "fused":
            fused = ranked
    return report, fused


def honesty_report(
    matcher: Matcher, eval_set: EvalSet, ranked: Sequence[Ranked], calibration: Calibration | None
) -> dict[str, Any]:
    """What ``match`` says about itself: ``no_good_match`` on questions with and without a
    relevant record, how often items of each confidence were relevant, and latency."""
    flagged: dict[bool, list[bool]] = {True: [], False: []}
    latencies = []
    for query, _, text in _texts(eval_set.queries):
        started = time.perf_counter()
        result = matcher.match(Query(text))
        latencies.append(time.perf_counter() - started)
        flagged[query.answerable].append(result.no_good_match)
    report: dict[str, Any] = {
        "no_match_queries_flagged": _share(flagged[False]),
        "answerable_queries_flagged": _share(flagged[True]),
        "answerable_queries_answered": 1.0 - _share(flagged[True]),
        "n_no_match": len(flagged[False]),
        "n_answerable": len(flagged[True]),
        # Questions are embedded once per evaluation run, so this is match time without
        # the embedding of the question (about 11 ms more on an idle machine).
        "match_ms_without_embedding": _latency(latencies),
    }
    if calibration is not None:
        levels: dict[str, list[bool]] = {"strong": [], "possible": [], "weak": []}
        for r in ranked:
            if not r.query.answerable:
                continue
            for cand in r.scored[:10]:
                level = calibration.classify(cand.similarity, cand.score)
                levels[level].append(str(cand.payload["id"]) in r.query.relevant)
        report["top10_items_relevant_by_confidence"] = {
            level: {"n": len(v), "relevant": round(_share(v), 4)} for level, v in levels.items()
        }
    return report


def _texts(queries: Sequence[EvalQuery]) -> Iterator[tuple[EvalQuery, str, str]]:
    for query in queries:
        for language in QUERY_LANGUAGES:
            text = query.texts.get(language)
            if text:
                yield query, language, text


def _share(values: Sequence[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


def _latency(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def at(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))], 1)

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "mean": round(1000 * statistics.fmean(ordered), 1),
    }
