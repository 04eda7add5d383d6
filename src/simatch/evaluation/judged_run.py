"""``simatch eval --records FILE --queries FILE``: the product and two baselines on any judged set.

The records go through the product's own ingest into a scratch collection (embeddings cached,
so a rerun embeds nothing); every question is ranked by the product's dense, lexical and fused
channels (``Matcher.rank``), and, in the same run on the same records, by the bare model and by
BM25 (``simatch.evaluation.baselines``). Metrics per channel and per language pair: "fi→en" is
a Finnish question judged on its gold records written in English, "fi→all" on all of them;
when the same question ids come in several languages, "fi→all paired" counts only the ids that
every question language has, so languages are compared on the same questions.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simatch.domain.matcher import Scored
from simatch.domain.query import Query
from simatch.domain.records import BaseRecord
from simatch.evaluation.baselines import BareModel, Bm25
from simatch.evaluation.judged import (
    RECORD_LANGUAGES,
    JudgedQuery,
    Split,
    in_split,
    load_judged_queries,
    read_records,
    subset,
)
from simatch.evaluation.metrics import mean_metrics
from simatch.evaluation.retrieval import CHANNEL_SETS
from simatch.evaluation.workspace import Workspace
from simatch.ingest.cache import text_key
from simatch.ingest.pipeline import Ingestor
from simatch.ingest.readers import RawRow
from simatch.wiring import Container

Log = Callable[[str], None]
BASELINES: tuple[str, ...] = ("bare_model", "bm25")
DEPTH = 60  # ranks kept per question (recall@10 needs 10; calibration reads the top 10)


@dataclass(frozen=True)
class JudgedOptions:
    records: Sequence[Path]
    queries: Sequence[Path]
    kinds: tuple[str, ...] = ("innovation",)
    split: Split = "all"
    text_field: str = "text"
    subset: int | None = None  # the first N question ids only


@dataclass
class JudgedRun:
    """Everything measured for one set: rankings by channel, for reports and calibration."""

    queries: list[JudgedQuery]
    languages: dict[str, str]  # question (qid, text) -> detected or given language
    record_languages: dict[str, str]  # record id -> language
    rankings: dict[str, list[list[str]]]  # channel -> per question, record ids best first
    fused: list[list[Scored]]  # per question, the product's fused candidates

    def query_language(self, query: JudgedQuery) -> str:
        return self.languages[query.qid + "\x00" + query.text]


def fitting(text: str, limit: int) -> str:
    """A question the product would refuse as too long, cut at a word to fit (the bare model
    and BM25 get the same text)."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


def collection_name(options: JudgedOptions, centred: bool) -> str:
    """One scratch collection per set of record files and kind (rebuilt when they change)."""
    digest = hashlib.sha256()
    for path in options.records:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    digest.update(f"{options.kinds[0]}|{centred}".encode())
    return f"judged-{digest.hexdigest()[:12]}"


def prepare_records(box: Container, rows: Sequence[RawRow]) -> list[RawRow]:
    """Rows with their language filled in (detected as the product would), so that the
    language pair of a judgement is the one the product saw. A language the import format
    does not take (the detector knows more) is left for the ingest to detect again."""
    out = []
    for row in rows:
        record, _ = Ingestor.validate(row)
        if record is not None and row.data is not None and record.language is None:
            language = box.analyzer.detect_language(record.search_text())
            if language in RECORD_LANGUAGES:
                row = RawRow(row.source, row.line, {**row.data, "language": language}, row.error)
        out.append(row)
    return out


def run_judged(
    workspace: Workspace,
    options: JudgedOptions,
    log: Log,
    questions: Sequence[JudgedQuery] | None = None,
) -> JudgedRun:
    """``questions``: asked instead of those in ``options.queries`` (split and subset still
    apply), e.g. questions from another domain that should find nothing."""
    box = workspace.container(
        collection_name(options, centred=workspace.settings.match.centre_languages)
    )
    loaded = (
        list(questions)
        if questions is not None
        else load_judged_queries(options.queries, options.text_field)
    )
    queries = subset(in_split(loaded, options.split), options.subset)
    rows = prepare_records(box, list(read_records(options.records, options.kinds[0])))
    report = workspace.ingest(box, rows)
    log(
        f"{len(rows)} records read, {report.added + report.updated} indexed, "
        f"{report.embedded} embedded, {len(report.rejected)} rejected"
    )
    for rejection in report.rejected[:5]:
        log(f"  rejected {rejection.source}:{rejection.line} {rejection.field}: {rejection.reason}")
    records = [r for r in (Ingestor.validate(row)[0] for row in rows) if r is not None]
    records = [r for r in records if r.kind in options.kinds]
    record_languages: dict[str, str] = {r.id: str(r.language or "") for r in records}
    bare, bm25 = _baselines(workspace, box, records)

    languages: dict[str, str] = {}
    rankings: dict[str, list[list[str]]] = defaultdict(list)
    fused: list[list[Scored]] = []
    for n, query in enumerate(queries, start=1):
        language = query.language or box.analyzer.detect_language(query.text)
        languages[query.qid + "\x00" + query.text] = language
        asked = Query(fitting(query.text, box.matcher.tuning.max_text_chars), kinds=options.kinds)
        for channel, channels in CHANNEL_SETS.items():
            scored = box.matcher.rank(asked, channels, limit=DEPTH)
            rankings[channel].append([str(s.payload["id"]) for s in scored])
            if channel == "fused":
                fused.append(scored)
        vector = workspace.embedder.embed_queries([asked.text])[0]
        rankings["bare_model"].append([k for k, _ in bare.rank(vector, DEPTH)])
        lemmas = box.analyzer.lemmas(asked.text, language)
        rankings["bm25"].append([k for k, _ in bm25.rank(lemmas, DEPTH)])
        if n % 200 == 0:
            log(f"  {n}/{len(queries)} questions")
    return JudgedRun(queries, languages, record_languages, dict(rankings), fused)


def _baselines(
    workspace: Workspace, box: Container, records: Sequence[BaseRecord]
) -> tuple[BareModel, Bm25]:
    ids = [r.id for r in records]
    model = workspace.embedder.model_id
    keys = [text_key(model, r.search_text()) for r in records]
    cached = workspace.cache.get_many(keys)
    missing = [r.search_text() for r, k in zip(records, keys, strict=True) if k not in cached]
    if missing:  # rejected or filtered rows were never ingested
        fresh = workspace.embedder.embed_documents(missing)
        cached.update({text_key(model, t): v for t, v in zip(missing, fresh, strict=True)})
    vectors = np.stack([cached[k] for k in keys]) if keys else np.zeros((0, 1), np.float32)
    lemmas = [box.analyzer.lemmas(r.search_text(), r.language or "fi") for r in records]
    return BareModel(ids, vectors), Bm25(ids, lemmas)


def pair_report(run: JudgedRun, channel: str) -> dict[str, Any]:
    """Metrics over all questions, per question language, per language pair, and per
    question language on the ids every question language has ("paired")."""
    ranked = list(zip(run.queries, run.rankings[channel], strict=True))
    by_language: dict[str, list[tuple[JudgedQuery, list[str]]]] = defaultdict(list)
    for query, ids in ranked:
        by_language[run.query_language(query)].append((query, ids))
    targets = sorted({lang for lang in run.record_languages.values() if lang})
    out: dict[str, Any] = {"all": mean_metrics((ids, q.gold) for q, ids in ranked).as_dict()}
    for source in sorted(by_language):
        mine = by_language[source]
        out[f"{source}→all"] = mean_metrics((ids, q.gold) for q, ids in mine).as_dict()
        for target in targets:
            in_target = (
                (ids, {g for g in q.gold if run.record_languages.get(g) == target})
                for q, ids in mine
            )
            figures = mean_metrics(in_target)
            if figures.n:
                out[f"{source}→{target}"] = figures.as_dict()
    if len(by_language) > 1:
        shared = set.intersection(*({q.qid for q, _ in v} for v in by_language.values()))
        if shared:
            for source in sorted(by_language):
                paired = ((ids, q.gold) for q, ids in by_language[source] if q.qid in shared)
                out[f"{source}→all paired"] = mean_metrics(paired).as_dict()
    return out


def judged_report(run: JudgedRun, options: JudgedOptions) -> dict[str, Any]:
    channels = {channel: pair_report(run, channel) for channel in run.rankings}
    return {
        "records": {
            "files": [str(p) for p in options.records],
            "n": len(run.record_languages),
            "languages": _counts(run.record_languages.values()),
        },
        "queries": {
            "files": [str(p) for p in options.queries],
            "n": len(run.queries),
            "split": options.split,
            "languages": _counts(run.languages.values()),
        },
        "kinds": list(options.kinds),
        "channels": channels,
        "margins": margins(channels),
    }


def margins(channels: dict[str, Any]) -> dict[str, float]:
    """Fused minus the better baseline, per cut-off (the issue's yardstick)."""
    out: dict[str, float] = {}
    for metric in ("recall@5", "recall@10", "mrr", "ndcg@10"):
        best = max(float(channels[b]["all"][metric]) for b in BASELINES)
        out[f"fused_minus_best_baseline_{metric}"] = round(
            float(channels["fused"]["all"][metric]) - best, 4
        )
    return out


def _counts(values: Sequence[str] | Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[value or "?"] += 1
    return dict(sorted(counts.items()))
