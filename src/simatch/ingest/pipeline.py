"""The ingest pipeline: validate, skip unchanged, embed (through the cache), index; in batches.

Bad rows are reported and skipped; good rows in the same file still land. Writes are upserts
by record key, so re-running the same file adds and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import ValidationError

from simatch.domain.centring import LanguageCentring
from simatch.domain.evidence import split_passages
from simatch.domain.payload import build_payload
from simatch.domain.ports import Embedder, IndexedDoc, TextAnalyzer, Vector, VectorIndex
from simatch.domain.records import KINDS, BaseRecord, parse_record
from simatch.domain.stores import EmbeddingCache
from simatch.ingest.cache import text_key
from simatch.ingest.duplicates import DuplicateDetector
from simatch.ingest.readers import RawRow
from simatch.ingest.report import DuplicateFlag, IngestReport, Rejection

Progress = Callable[[int], None]


@dataclass(frozen=True)
class IngestSettings:
    batch_size: int = 64
    optimize_after: int = 1000  # rebuild the HNSW graph after a load this big
    # near-duplicate score (simatch.ingest.duplicates) from which records are flagged; None = off
    duplicate_threshold: float | None = None


class DuplicateSink(Protocol):
    """Where flagged near-duplicates are kept for staff (``simatch duplicates``)."""

    def replace(self, keys: Sequence[str], flags: Sequence[DuplicateFlag]) -> None:
        """Forget earlier flags of these records and keep these."""
        ...


class IndexListener(Protocol):
    """Told around each write to the index (alerts: a journal before, reverse matching after;
    ``simatch.alerts.hook``). Between the two calls the records are in the index."""

    def before_index(self, records: Sequence[BaseRecord], hashes: dict[str, str]) -> object:
        """Returns a token handed back to ``after_index``."""
        ...

    def after_index(
        self, records: Sequence[BaseRecord], vectors: Sequence[Vector], token: object
    ) -> None: ...


class Ingestor:
    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        analyzer: TextAnalyzer,
        cache: EmbeddingCache,
        settings: IngestSettings | None = None,
        centring: LanguageCentring | None = None,
        duplicates: DuplicateSink | None = None,
        listener: IndexListener | None = None,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.analyzer = analyzer
        self.cache = cache
        self.settings = settings or IngestSettings()
        self.centring = centring  # records are stored centred per language (domain.centring)
        self.duplicates = duplicates
        self.listener = listener

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
        removed = int(self.index.delete(list(keys)))
        if self.duplicates is not None:
            self.duplicates.replace(list(keys), [])  # a deleted record has no duplicates
        return removed

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
        vectors = self._vectors(changed, report)
        docs = [
            self._document(record, hashes[record.key], vector)
            for record, vector in zip(changed, vectors, strict=True)
        ]
        token = self.listener.before_index(changed, hashes) if self.listener else None
        self.index.upsert(docs)
        if self.listener is not None:
            self.listener.after_index(changed, vectors, token)
        for record in changed:
            if record.key in stored:
                report.updated += 1
            else:
                report.added += 1
        threshold = self.settings.duplicate_threshold
        if threshold is not None:
            # After the upsert, so that twins within one batch find each other.
            flags = DuplicateDetector(self.index, self.analyzer, threshold).check(changed)
            report.duplicates.extend(flags)
            if self.duplicates is not None:
                self.duplicates.replace([r.key for r in changed], flags)

    def document_vectors(self, records: Sequence[BaseRecord]) -> list[Vector]:
        """The dense vectors of records as the index stores them (embedded through the cache,
        so records indexed before cost a lookup)."""
        return self._vectors(records, IngestReport())

    def _vectors(self, records: Sequence[BaseRecord], report: IngestReport) -> list[Vector]:
        vectors = self._embed([r.search_text() for r in records], report)
        if self.centring is not None:
            languages = [r.language or "fi" for r in records]
            vectors = list(self.centring.centre_documents(np.stack(vectors), languages))
        return vectors

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
