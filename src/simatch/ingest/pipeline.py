"""The ingest pipeline: validate, skip unchanged, embed (through the cache), index; in batches.

Bad rows are reported and skipped; good rows in the same file still land. Writes are upserts
by record key, so re-running the same file adds and changes nothing.

Three stages overlap (``ingest.overlap``), each batch going through them in order:

1. **prepare** (the caller's thread, which reads the rows): validate, skip records whose
   content hash is already indexed, detect languages, look vectors up in the embedding
   cache, analyse the text for the lexical channel (lemmas, passages, the sparse vector),
   and tokenize the texts the cache did not have, when the embedder takes token ids;
2. **embed**: those texts handed to the model (native code, no GIL), without waiting for
   the vectors: the next batch's texts queue behind them, so the model's workers go on
   from one batch to the next instead of idling at the end of each;
3. **write**: wait for the vectors, centre them, upsert the batch, check near-duplicates
   against the index, count, and tell the observer.

A stage only reads what the stages before it filled in (``_Batch``); one batch at a time is
written, in the order the rows came.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError

from simatch.domain.centring import LanguageCentring
from simatch.domain.evidence import split_passages
from simatch.domain.payload import build_payload
from simatch.domain.ports import (
    Embedder,
    IndexedDoc,
    SparseVector,
    TextAnalyzer,
    TokenizedDocuments,
    Vector,
    VectorIndex,
)
from simatch.domain.records import KINDS, BaseRecord, parse_record
from simatch.domain.stores import EmbeddingCache
from simatch.ingest.cache import text_key
from simatch.ingest.duplicates import DuplicateDetector
from simatch.ingest.overlap import overlapped
from simatch.ingest.readers import RawRow
from simatch.ingest.report import DuplicateFlag, IngestReport, Rejection

Progress = Callable[[int], None]  # rows read since the last call
Observer = Callable[[IngestReport], None]  # the report so far, after each batch and stage


@dataclass
class _Batch:
    """One batch on its way through the stages; each stage fills in its part."""

    records: list[BaseRecord]  # the changed ones, in row order
    hashes: list[str]
    existed: list[bool]  # already in the index (an update) or not (an addition)
    cache_keys: list[str]
    texts: list[str]
    lexical: list[tuple[list[dict[str, Any]], list[str], SparseVector]]  # passages, terms
    vectors: dict[int, Vector] = field(default_factory=dict)  # filled by the cache, then embed
    # The model's token ids of the texts the cache did not have, when the embedder takes
    # them (``TokenizedDocuments``): tokenized here, while the batch before is embedded.
    tokens: list[list[list[int]]] | None = None
    # The vectors of the texts the cache did not have, being computed (stage 2 to stage 3).
    embedding: Future[Vector] | None = None


@dataclass
class _Run:
    """What one ``ingest`` call remembers across its batches."""

    report: IngestReport
    # Hashes of records sent down the pipeline but perhaps not written yet: a key seen
    # again later in the same import is compared with them, not with the index.
    pending: dict[str, str] = field(default_factory=dict)
    duplicates: DuplicateDetector | None = None
    listener: IndexRun | None = None


# Model calls of one import in flight at once: two let the model's workers take the next
# batch's texts while the last of a batch's are still computed (``TokenizedDocuments``, whose
# calls share one pool of workers); an embedder without token ids gets one call at a time.
EMBED_CALLS = 2
# The first batch is cut short: the model's workers idle until it has been prepared.
FIRST_BATCH = 16


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


class IndexRun(Protocol):
    """Told around each write of one import to the index (alerts: a journal before, reverse
    matching after; ``simatch.alerts.hook``). Between the two calls the records are in the
    index; ``finish`` comes once after the last batch, also when the import failed."""

    def before_index(self, records: Sequence[BaseRecord], hashes: dict[str, str]) -> object:
        """Returns a token handed back to ``after_index``."""
        ...

    def after_index(
        self,
        records: Sequence[BaseRecord],
        vectors: Sequence[Vector],
        sparse: Sequence[SparseVector],
        token: object,
    ) -> None: ...

    def finish(self) -> None: ...


class IndexListener(Protocol):
    def start(self) -> IndexRun:
        """What listens to one import (or one record put)."""
        ...

    def deleted(self, keys: Sequence[str]) -> None:
        """Records were deleted from the index."""
        ...


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
        pause: Callable[[], None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.analyzer = analyzer
        self.cache = cache
        self.settings = settings or IngestSettings()
        self.centring = centring  # records are stored language-neutral (domain.centring)
        self.duplicates = duplicates
        self.listener = listener
        # Called between small steps (a record, a write): a background import waits there
        # while requests are answered (simatch.services.background.RequestsFirst).
        self.pause = pause or _go_on

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

    def ingest(
        self,
        rows: Iterable[RawRow],
        progress: Progress | None = None,
        *,
        observe: Observer | None = None,
        cancel: threading.Event | None = None,
    ) -> IngestReport:
        """Import ``rows``; the report says what happened to each. ``observe`` sees the report
        while it grows (from the pipeline's threads); once ``cancel`` is set no further row
        is read, and the batches already read are still written."""
        started = time.perf_counter()
        run = self._run(IngestReport())
        report = run.report

        def batches() -> Iterator[_Batch]:
            for records in self._read(rows, report, progress, cancel):
                prepared = self._prepare(records, run)
                if observe:
                    observe(report)
                if prepared is not None:
                    yield prepared

        def write(batch: _Batch) -> _Batch:
            self._finish_embed(batch, report)
            self._write(batch, run)
            if observe:
                observe(report)
            return batch

        calls = EMBED_CALLS if isinstance(self.embedder, TokenizedDocuments) else 1
        try:
            with ThreadPoolExecutor(calls, thread_name_prefix="ingest-embed") as embedding:
                overlapped(batches(), [lambda b: self._start_embed(b, embedding), write])
        finally:
            if run.listener is not None:
                run.listener.finish()
        if report.added + report.updated >= self.settings.optimize_after:
            self.index.optimize()
        report.seconds = time.perf_counter() - started
        return report

    def put(self, record: BaseRecord) -> IngestReport:
        """Upsert one record (API and chat); same stages as a file import, in this thread."""
        run = self._run(IngestReport(read=1))
        try:
            batch = self._prepare([record], run)
            if batch is not None:
                self._write(self._embed(batch, run.report), run)
        finally:
            if run.listener is not None:
                run.listener.finish()
        return run.report

    def _run(self, report: IngestReport) -> _Run:
        listener = self.listener.start() if self.listener is not None else None
        return _Run(report, duplicates=self._detector(), listener=listener)

    def delete(self, keys: Sequence[str]) -> int:
        removed = int(self.index.delete(list(keys)))
        if removed and self.listener is not None:
            self.listener.deleted(keys)
        if self.duplicates is not None:
            self.duplicates.replace(list(keys), [])  # a deleted record has no duplicates
        return removed

    def _detector(self) -> DuplicateDetector | None:
        threshold = self.settings.duplicate_threshold
        return (
            None
            if threshold is None
            else DuplicateDetector(self.index, self.analyzer, threshold, pause=self.pause)
        )

    def _read(
        self,
        rows: Iterable[RawRow],
        report: IngestReport,
        progress: Progress | None,
        cancel: threading.Event | None,
    ) -> Iterator[list[BaseRecord]]:
        """Valid records in batches (a later row with the same key wins within a batch); the
        first batch at most ``FIRST_BATCH`` records, so that the model starts early."""
        batch: dict[str, BaseRecord] = {}
        size = min(FIRST_BATCH, self.settings.batch_size)
        for row in rows:
            if cancel is not None and cancel.is_set():
                break
            report.read += 1
            record, rejections = self.validate(row)
            if record is None:
                report.rejected.extend(rejections)
            else:
                batch[record.key] = record
            if len(batch) >= size:
                yield list(batch.values())
                batch = {}
                size = self.settings.batch_size
            if progress:
                progress(1)
        if batch:
            yield list(batch.values())

    # -- the stages -------------------------------------------------------------------------

    def _prepare(self, records: list[BaseRecord], run: _Run) -> _Batch | None:
        """Stage 1: what changed, its language, cached vectors, the lexical analysis."""
        hashes = {r.key: r.content_hash() for r in records}
        known = self.index.hashes(list(hashes))
        known.update({k: run.pending[k] for k in hashes if k in run.pending})
        changed = [r for r in records if known.get(r.key) != hashes[r.key]]
        run.report.unchanged += len(records) - len(changed)
        if not changed:
            return None
        for record in changed:
            self.pause()
            run.pending[record.key] = hashes[record.key]
            if record.language is None:
                record.language = self.analyzer.detect_language(record.search_text())  # type: ignore[assignment]
        texts = [r.search_text() for r in changed]
        model = self.embedder.model_id
        keys = [text_key(model, t) for t in texts]
        cached = self.cache.get_many(keys)
        batch = _Batch(
            records=changed,
            hashes=[hashes[r.key] for r in changed],
            existed=[r.key in known for r in changed],
            cache_keys=keys,
            texts=texts,
            lexical=[self._lexical(r) for r in changed],  # pauses per record
            vectors={i: cached[k] for i, k in enumerate(keys) if k in cached},
        )
        if isinstance(self.embedder, TokenizedDocuments):
            self.pause()
            batch.tokens = self.embedder.document_tokens(
                [texts[i] for i in range(len(texts)) if i not in batch.vectors]
            )
        return batch

    def _embed(self, batch: _Batch, report: IngestReport) -> _Batch:
        """The texts the cache did not have, in this thread (one record, or vectors asked
        for outside an import)."""
        missing = self._missing(batch)
        if missing:
            self.pause()
            self._store(batch, missing, self._model(batch, missing), report)
        return batch

    def _start_embed(self, batch: _Batch, embedding: ThreadPoolExecutor) -> _Batch:
        """Stage 2: the texts the cache did not have go to the model; stage 3 waits for them."""
        missing = self._missing(batch)
        if missing:
            self.pause()
            batch.embedding = embedding.submit(self._model, batch, missing)
        return batch

    def _finish_embed(self, batch: _Batch, report: IngestReport) -> None:
        if batch.embedding is not None:
            fresh = batch.embedding.result()
            batch.embedding = None
            self._store(batch, self._missing(batch), fresh, report)

    @staticmethod
    def _missing(batch: _Batch) -> list[int]:
        return [i for i in range(len(batch.texts)) if i not in batch.vectors]

    def _model(self, batch: _Batch, missing: list[int]) -> Vector:
        if batch.tokens is not None and isinstance(self.embedder, TokenizedDocuments):
            return self.embedder.embed_document_tokens(batch.tokens)
        return self.embedder.embed_documents([batch.texts[i] for i in missing])

    def _store(
        self, batch: _Batch, missing: list[int], fresh: Vector, report: IngestReport
    ) -> None:
        self.cache.put_many({batch.cache_keys[i]: fresh[j] for j, i in enumerate(missing)})
        batch.vectors.update({i: fresh[j] for j, i in enumerate(missing)})
        report.embedded += len(missing)

    def _write(self, batch: _Batch, run: _Run) -> None:
        """Stage 3: centre, upsert, count, flag near-duplicates."""
        report = run.report
        keys = [r.key for r in batch.records]
        vectors = self._centred(batch.records, [batch.vectors[i] for i in range(len(keys))])
        docs = [
            IndexedDoc(
                key=record.key,
                dense=vector,
                sparse=sparse,
                payload=build_payload(record, content_hash, passages, terms),
            )
            for record, content_hash, vector, (passages, terms, sparse) in zip(
                batch.records, batch.hashes, vectors, batch.lexical, strict=True
            )
        ]
        listener = run.listener
        token = (
            listener.before_index(batch.records, dict(zip(keys, batch.hashes, strict=True)))
            if listener
            else None
        )
        self.pause()
        self.index.upsert(docs)
        if listener is not None:
            sparse = [lexical for _, _, lexical in batch.lexical]
            listener.after_index(batch.records, vectors, sparse, token)
        updated = sum(batch.existed)
        report.updated += updated
        report.added += len(docs) - updated
        if run.duplicates is not None:
            # After the upsert, so that twins within one batch find each other.
            flags = run.duplicates.check(batch.records)
            report.duplicates.extend(flags)
            if self.duplicates is not None:
                self.duplicates.replace([r.key for r in batch.records], flags)

    def document_vectors(self, records: Sequence[BaseRecord]) -> list[Vector]:
        """The dense vectors of records as the index stores them (embedded through the cache,
        so records indexed before cost a lookup)."""
        model = self.embedder.model_id
        texts = [r.search_text() for r in records]
        keys = [text_key(model, t) for t in texts]
        cached = self.cache.get_many(keys)
        batch = _Batch(
            records=list(records),
            hashes=[],
            existed=[],
            cache_keys=keys,
            texts=texts,
            lexical=[],
            vectors={i: cached[k] for i, k in enumerate(keys) if k in cached},
        )
        self._embed(batch, IngestReport())
        return self._centred(records, [batch.vectors[i] for i in range(len(records))])

    def _centred(self, records: Sequence[BaseRecord], vectors: list[Vector]) -> list[Vector]:
        if self.centring is None or not vectors:
            return vectors
        languages = [r.language or "fi" for r in records]
        return list(self.centring.centre_documents(np.stack(vectors), languages))

    def _lexical(self, record: BaseRecord) -> tuple[list[dict[str, Any]], list[str], SparseVector]:
        """The record's passages (with their terms), all its terms, and its sparse vector."""
        self.pause()
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
        return passages, sorted(set(all_lemmas)), self.analyzer.encode_lemmas(all_lemmas)


def _go_on() -> None:
    """No pause: the default outside a server."""
