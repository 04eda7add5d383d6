"""The ingest pipeline: validate, skip unchanged, embed (through the cache), index; in batches.

Bad rows are reported and skipped; good rows in the same file still land. Writes are upserts
by record key, so re-running the same file adds and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from simatch.domain.evidence import split_passages
from simatch.domain.payload import build_payload
from simatch.domain.ports import Embedder, IndexedDoc, TextAnalyzer, Vector
from simatch.domain.records import KINDS, BaseRecord, parse_record
from simatch.ingest.cache import EmbeddingCache, text_key
from simatch.ingest.readers import RawRow
from simatch.ingest.report import DuplicateFlag, IngestReport, Rejection

Progress = Callable[[int], None]


@dataclass(frozen=True)
class IngestSettings:
    batch_size: int = 64
    optimize_after: int = 1000  # rebuild the HNSW graph after a load this big
    duplicate_threshold: float | None = None  # dense cosine at or above which records are flagged


class Ingestor:
    def __init__(
        self,
        embedder: Embedder,
        index: Any,  # VectorIndex
        analyzer: TextAnalyzer,
        cache: EmbeddingCache,
        settings: IngestSettings | None = None,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.analyzer = analyzer
        self.cache = cache
        self.settings = settings or IngestSettings()

    # -- validation -------------------------------------------------------------------------

    @staticmethod
    def validate(row: RawRow) -> tuple[BaseRecord | None, list[Rejection]]:
        if row.data is None:
            return None, [Rejection(source=row.source, line=row.line, reason=row.error or "")]
        data = row.data
        raw_id = data.get("id")
        record_id = str(raw_id) if raw_id is not None else None
        kind = data.get("kind")
        if kind not in KINDS:
            reason = (
                "missing field 'kind'"
                if kind is None
                else f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})"
            )
            return None, [
                Rejection(
                    source=row.source, line=row.line, field="kind", reason=reason, id=record_id
                )
            ]
        try:
            return parse_record(data), []
        except ValidationError as exc:
            rejections = []
            for err in exc.errors(include_url=False):
                loc = [str(p) for p in err["loc"] if p != kind]
                rejections.append(
                    Rejection(
                        source=row.source,
                        line=row.line,
                        field=".".join(loc) or None,
                        reason=err["msg"],
                        id=record_id,
                    )
                )
            return None, rejections

    # -- ingest -----------------------------------------------------------------------------

    def ingest(self, rows: Iterable[RawRow], progress: Progress | None = None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        batch: dict[str, BaseRecord] = {}
        for row in rows:
            report.read += 1
            record, rejections = self.validate(row)
            if record is None:
                report.rejected.extend(rejections)
            else:
                batch[record.key] = record  # a later row with the same key wins
            if len(batch) >= self.settings.batch_size:
                self._write(list(batch.values()), report)
                batch.clear()
            if progress:
                progress(1)
        if batch:
            self._write(list(batch.values()), report)
        if report.added + report.updated >= self.settings.optimize_after:
            self.index.optimize()
        report.seconds = time.perf_counter() - started
        return report

    def put(self, record: BaseRecord) -> IngestReport:
        """Upsert one record (API and chat); same path as a file import."""
        report = IngestReport(read=1)
        self._write([record], report)
        return report

    def delete(self, keys: Sequence[str]) -> int:
        return int(self.index.delete(list(keys)))

    def _write(self, records: list[BaseRecord], report: IngestReport) -> None:
        hashes = {r.key: r.content_hash() for r in records}
        stored = self.index.hashes(list(hashes))
        changed = [r for r in records if stored.get(r.key) != hashes[r.key]]
        report.unchanged += len(records) - len(changed)
        if not changed:
            return
        for record in changed:
            if record.language is None:
                record.language = self.analyzer.detect_language(record.search_text())  # type: ignore[assignment]
        texts = [r.search_text() for r in changed]
        vectors = self._embed(texts, report)
        docs = [
            self._document(record, hashes[record.key], vector)
            for record, vector in zip(changed, vectors, strict=True)
        ]
        if self.settings.duplicate_threshold is not None:
            report.duplicates.extend(self._near_duplicates(docs))
        self.index.upsert(docs)
        for record in changed:
            if record.key in stored:
                report.updated += 1
            else:
                report.added += 1

    def _embed(self, texts: list[str], report: IngestReport) -> list[Vector]:
        model = self.embedder.model_id
        keys = [text_key(model, t) for t in texts]
        cached = self.cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in cached]
        if missing:
            fresh = self.embedder.embed_documents([texts[i] for i in missing])
            new = {keys[i]: fresh[j] for j, i in enumerate(missing)}
            self.cache.put_many(new)
            cached.update(new)
            report.embedded += len(missing)
        return [cached[k] for k in keys]

    def _document(self, record: BaseRecord, content_hash: str, vector: Vector) -> IndexedDoc:
        language = record.language or "fi"
        passages = []
        all_lemmas: list[str] = []
        for part, prose in record.search_parts():
            # Keyword lists (themes) count for search but make poor evidence to show.
            for passage in split_passages(part) if prose else [part]:
                lemmas = self.analyzer.lemmas(passage, language)
                all_lemmas.extend(lemmas)
                if prose:
                    passages.append({"text": passage, "terms": sorted(set(lemmas))})
        sparse = self.analyzer.encode_lemmas(all_lemmas)
        terms = sorted(set(all_lemmas))
        return IndexedDoc(
            key=record.key,
            dense=vector,
            sparse=sparse,
            payload=build_payload(record, content_hash, passages, terms),
        )

    def _near_duplicates(self, docs: list[IndexedDoc]) -> list[DuplicateFlag]:
        from simatch.domain.ports import SearchFilter

        threshold = self.settings.duplicate_threshold or 1.0
        flags: list[DuplicateFlag] = []
        batch_keys = {d.key for d in docs}
        for doc in docs:
            kind = doc.payload["kind"]
            for hit in self.index.search_dense(doc.dense, SearchFilter(kinds=(kind,)), 3):
                if hit.key != doc.key and hit.key not in batch_keys and hit.score >= threshold:
                    flags.append(
                        DuplicateFlag(key=doc.key, other=hit.key, score=round(hit.score, 4))
                    )
        return flags
