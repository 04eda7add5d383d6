"""VectorIndex on qdrant-edge: the Qdrant engine in-process, one shard directory.

Layout under ``path``::

    meta.json   IndexMeta (model id, dim, schema version), written before the shards
    shard/      the search shard: vectors and the schema's search fields (segments + WAL)
    content/    a vectorless shard: each record's whole payload, under the same point id

Writes go to ``content/`` first and leave ``shard/`` last, deletes the other way round, so
a search never finds a point whose content is missing.

Searches ask the engine for ids and scores only and take the search fields from a map in
memory (filled on first sight, kept current by this object's own writes; only this process
can write the shard). Turning each hit's payload into Python cost more than the search.

Concurrency: the shard has its own internal locks, and concurrent query + update from
several threads was checked to work (2 reader threads searching while a writer upserted
64-point batches: no errors). The RLock here only serialises our *writes*, because
``delete`` reads then writes (its count must be exact) and ``close`` must not race a write.
Searches never take it. Only one process may open a shard (the WAL is locked).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from simatch.domain.ports import (
    Hit,
    IndexedDoc,
    IndexMeta,
    Ranking,
    Search,
    SearchFilter,
    SparseVector,
    Vector,
)
from simatch.errors import BackendUnavailable, ConfigError
from simatch.index.schema import (
    DEADLINE_FIELD,
    WITHDRAWN_FIELD,
    CollectionSchema,
    check_dense,
    check_meta,
    filter_parts,
    hit,
    meta_from_dict,
    meta_to_dict,
    parse_cursor,
    point_id,
    settled,
)

# Segments are persisted at most this often while writing (the WAL holds what is newer).
FLUSH_INTERVAL_S = 30.0
_DISTANCES = {"cosine": qe.Distance.Cosine, "dot": qe.Distance.Dot, "euclid": qe.Distance.Euclid}
_PAYLOAD_TYPES = {
    "keyword": qe.PayloadSchemaType.Keyword,
    "integer": qe.PayloadSchemaType.Integer,
    "float": qe.PayloadSchemaType.Float,
    "bool": qe.PayloadSchemaType.Bool,
    "datetime": qe.PayloadSchemaType.Datetime,
}


class EdgeIndex:
    """The VectorIndex port on ``qdrant_edge.EdgeShard``."""

    def __init__(
        self,
        path: Path,
        schema: CollectionSchema,
        search_threads: int | None = 1,
        settle_ties: bool = False,
    ) -> None:
        """``settle_ties``: equal scores in point-id order (``schema.settled``)."""
        self._path = Path(path)
        self._schema = schema
        self._settle_ties = settle_ties
        # The binding holds the GIL while the engine searches; a search pool adds a thread
        # hand-off to every search, so under concurrent requests one thread per search is
        # faster (benchmarks/README.md). None: one per CPU.
        self._search_threads = search_threads
        self._shard: qe.EdgeShard | None = None
        self._content: qe.EdgeShard | None = None
        self._meta: IndexMeta | None = None
        self._lock = threading.RLock()
        # point id (as the engine returns it: a UUID) -> search fields
        self._fields: dict[uuid.UUID, dict[str, Any]] = {}
        self._writes = 0  # bumped by every write: a fill that raced one is not kept
        self._flushed = time.monotonic()  # when segments were last persisted

    @property
    def shard_path(self) -> Path:
        return self._path / "shard"

    @property
    def content_path(self) -> Path:
        return self._path / "content"

    @property
    def meta_path(self) -> Path:
        return self._path / "meta.json"

    # -- lifecycle -------------------------------------------------------------------------

    def open(self, meta: IndexMeta) -> None:
        with self._lock:
            if self._shard is not None:
                check_meta(self._require_meta(), meta, str(self._path))
                return
            stored = self._read_meta()
            has_shard = self.shard_path.is_dir() and any(self.shard_path.iterdir())
            if stored is not None:
                check_meta(stored, meta, str(self._path))
            elif has_shard:
                raise ConfigError(
                    f"index {self._path} has a shard but no meta.json: cannot tell which "
                    "model built it; delete the directory and rebuild"
                )
            else:
                # Written first: a crash before the shard exists leaves meta + no shard,
                # which the next open completes, never a shard of unknown origin.
                self._write_meta(meta)
            content = self._load_or_create(self.content_path, _content_config(self._search_threads))
            try:
                shard = self._load_or_create(self.shard_path, self._config(meta.dim))
            except BaseException:
                content.close()
                raise
            self._ensure_payload_indexes(shard)
            shard.flush()
            self._shard, self._content, self._meta = shard, content, meta

    def _load_or_create(self, path: Path, config: qe.EdgeConfig) -> qe.EdgeShard:
        try:
            if path.is_dir() and any(path.iterdir()):
                # Passing the config re-checks vector compatibility and applies changed
                # HNSW/optimizer settings from collection.json.
                return qe.EdgeShard.load(str(path), config)
            return qe.EdgeShard.create(str(path), config)
        except Exception as exc:  # the binding raises plain Exception
            if "WAL" in str(exc):
                raise BackendUnavailable(
                    f"index {self._path} is open in another process (one process per shard): {exc}"
                ) from exc
            raise ConfigError(f"cannot open index {self._path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            shards = (self._shard, self._content)
            self._shard = self._content = None
            self._fields = {}
            for shard in shards:
                if shard is not None:
                    shard.flush()
                    shard.close()

    def ping(self) -> bool:
        return self._shard is not None

    def stored_meta(self) -> IndexMeta | None:
        """What this index was built with (None: nothing written yet); opens nothing."""
        return self._read_meta()

    def optimize(self) -> None:
        with self._lock:
            shard = self._open_shard()
            shard.optimize()
            shard.flush()

    # -- writes ----------------------------------------------------------------------------

    def upsert(self, docs: Sequence[IndexedDoc]) -> None:
        if not docs:
            return
        dim = self._require_meta().dim
        points = [self._point(doc, dim) for doc in docs]
        fresh = {_uuid(point.id): point.payload or {} for point in points}
        contents = [
            qe.Point(point_id(doc.key), {}, {**doc.payload, "key": doc.key}) for doc in docs
        ]
        with self._lock:
            shard, content = self._open_shard(), self._open_content()
            content.update(qe.UpdateOperation.upsert_points(contents))
            shard.update(qe.UpdateOperation.upsert_points(points))
            self._flush_now_and_then(content, shard)
            self._writes += 1
            self._fields.update(fresh)

    def _flush_now_and_then(self, *shards: qe.EdgeShard) -> None:
        """Persist segments at most every ``FLUSH_INTERVAL_S`` (and on close): an update is
        in the WAL when it returns, which survives a killed process (tested), so a flush
        only spares a restart the WAL replay. The binding holds the GIL while it flushes,
        10-280 ms with fsync, which every request of the process waits out: flushing each
        64-record batch of an import put that into the matches answered meanwhile."""
        now = time.monotonic()
        if now - self._flushed < FLUSH_INTERVAL_S:
            return
        for shard in shards:
            shard.flush()
        self._flushed = now

    def delete(self, keys: Sequence[str]) -> int:
        with self._lock:
            shard = self._open_shard()
            content = self._open_content()
            existing = [r.id for r in self._retrieve(shard, keys, with_payload=False)]
            if existing:
                shard.update(qe.UpdateOperation.delete_points(existing))
                shard.flush()
            # Also ids without a search point: content left by an interrupted upsert.
            ids: list[qe.PointId] = [point_id(k) for k in dict.fromkeys(keys)]
            if ids:
                content.update(qe.UpdateOperation.delete_points(ids))
                content.flush()
            self._writes += 1
            for pid in ids:
                self._fields.pop(_uuid(pid), None)
            return len(existing)

    # -- reads -----------------------------------------------------------------------------

    def get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        # Only keys with a search point exist: content without one is an interrupted write.
        ids = [point_id(k) for k in dict.fromkeys(keys)]
        present: list[qe.PointId] = []
        unknown: list[qe.PointId] = []
        for i in ids:
            (present if uuid.UUID(i) in self._fields else unknown).append(i)
        if unknown:
            shard = self._open_shard()
            found = shard.retrieve(unknown, with_payload=False, with_vector=False)
            present += [str(r.id) for r in found]
        payloads = self._contents(present).values()
        return {str(p["key"]): p for p in payloads if "key" in p}

    def hashes(self, keys: Sequence[str]) -> dict[str, str]:
        selector = qe.PayloadSelector.Include(["key", "content_hash"])
        records = self._retrieve(self._open_shard(), keys, with_payload=selector)
        return {
            str(p["key"]): str(p.get("content_hash", ""))
            for p in (r.payload or {} for r in records)
            if "key" in p
        }

    def search_dense(self, vector: Vector, flt: SearchFilter, limit: int) -> list[Hit]:
        return self.search_batch([Search(vector, flt, limit)])[0]

    def search_sparse(self, vector: SparseVector, flt: SearchFilter, limit: int) -> list[Hit]:
        return self.search_batch([Search(vector, flt, limit)])[0]

    def search_batch(self, searches: Sequence[Search]) -> list[list[Hit]]:
        scored = self._query(searches)
        fields = self._fields
        missing: list[qe.PointId] = [i for points in scored for i, _ in points if i not in fields]
        filled = self._fill(self._open_shard(), missing) if missing else {}
        out: list[list[Hit]] = []
        for points in scored:
            hits = []
            for key, score in points:
                payload = fields.get(key) or filled.get(key)
                if payload is not None:  # None: deleted since the search
                    hits.append(hit(payload, score))
            out.append(hits)
        return out

    def rank_batch(self, searches: Sequence[Search]) -> list[Ranking]:
        found = self._query(searches)
        fields = self._fields
        ids = [[i for i, _ in points] for points in found]
        missing: list[qe.PointId] = [i for row in ids for i in row if i not in fields]
        filled = self._fill(self._open_shard(), missing) if missing else {}
        out: list[Ranking] = []
        for row, points in zip(ids, found, strict=True):
            got = [fields.get(i) for i in row]
            scores = [x for _, x in points]
            if None in got:  # seen for the first time, or deleted since the search
                got = [f if f is not None else filled.get(i) for i, f in zip(row, got, strict=True)]
                scores = [x for x, f in zip(scores, got, strict=True) if f is not None]
            out.append(Ranking([f["key"] for f in got if f is not None], scores))
        return out

    def _query(self, searches: Sequence[Search]) -> list[list[tuple[uuid.UUID, float]]]:
        """Each search's point ids and scores, best first; with ``settle_ties``, equal scores
        in point-id order (``settled``: the same in every build of the index)."""
        if not self._settle_ties:
            return self._engine(searches)
        return settled(searches, self._engine, _score, _point)

    def _engine(self, searches: Sequence[Search]) -> list[list[tuple[uuid.UUID, float]]]:
        """The engine's points of each search (none for an empty sparse one), from one call:
        the binding holds the GIL for the whole engine call, so fewer is better. The dense
        searches go first and the sparse ones after: the engine scores runs of alike
        searches together, and a batch that alternates them took about twice as long
        (1,758 searches of alert detection: 0.9 s against 0.45 s). Each read of a point's id
        builds a new UUID object in the binding: it is read once, here."""
        filters: dict[SearchFilter, qe.Filter | None] = {}  # a batch repeats a few filters
        for search in searches:
            if search.flt not in filters:
                filters[search.flt] = edge_filter(search.flt)
        order = sorted(
            (i for i, s in enumerate(searches) if not _empty(s)),
            key=lambda i: isinstance(searches[i].vector, SparseVector),
        )
        out: list[list[tuple[uuid.UUID, float]]] = [[] for _ in searches]
        if not order:
            return out
        requests = [self._request(searches[i], filters[searches[i].flt]) for i in order]
        found = self._open_shard().query_batch(qe.QueryBatchRequest(requests))
        for i, points in zip(order, found, strict=True):
            out[i] = [(_uuid(p.id), p.score) for p in points]
        return out

    def scroll(
        self, flt: SearchFilter, limit: int, cursor: str | None = None
    ) -> tuple[list[Hit], str | None]:
        request = qe.ScrollRequest(
            offset=parse_cursor(cursor),
            limit=limit,
            filter=edge_filter(flt),
            with_payload=True,
            with_vector=False,
        )
        # Edge scrolls in point-id order: stable, and the next id is a natural cursor.
        records, next_id = self._open_shard().scroll(request)
        full = self._contents([r.id for r in records])
        hits = [hit(full.get(str(r.id)) or r.payload, 0.0) for r in records]
        return hits, (str(next_id) if next_id is not None else None)

    def count(self, flt: SearchFilter | None = None) -> int:
        request = qe.CountRequest(filter=edge_filter(flt) if flt else None, exact=True)
        return self._open_shard().count(request)

    # -- helpers ---------------------------------------------------------------------------

    def _request(self, search: Search, flt: qe.Filter | None) -> qe.QueryRequest:
        if isinstance(search.vector, SparseVector):
            vector = qe.SparseVector(list(search.vector.indices), list(search.vector.values))
            query = qe.Query.Nearest(vector, using=self._schema.sparse_name)
        else:
            query = qe.Query.Nearest(search.vector.tolist(), using=self._schema.dense_name)
        return qe.QueryRequest(
            limit=search.limit,
            query=query,
            filter=flt,
            with_payload=False,
            with_vector=False,
        )

    def _fill(self, shard: qe.EdgeShard, ids: list[qe.PointId]) -> dict[uuid.UUID, dict[str, Any]]:
        writes = self._writes
        found = {
            _uuid(r.id): r.payload
            for r in shard.retrieve(ids, with_payload=True, with_vector=False)
            if r.payload
        }
        with self._lock:
            if writes == self._writes and self._shard is shard:
                self._fields.update(found)
        return found

    @staticmethod
    def _retrieve(
        shard: qe.EdgeShard, keys: Sequence[str], with_payload: qe.WithPayloadType
    ) -> list[qe.Record]:
        ids: list[qe.PointId] = [point_id(k) for k in dict.fromkeys(keys)]
        if not ids:
            return []
        # with_vector is required at run time although the stub marks it optional.
        return shard.retrieve(ids, with_payload=with_payload, with_vector=False)

    def _open_shard(self) -> qe.EdgeShard:
        shard = self._shard
        if shard is None:
            raise BackendUnavailable(f"index {self._path} is not open")
        return shard

    def _contents(self, ids: Sequence[qe.PointId]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        records = self._open_content().retrieve(list(ids), with_payload=True, with_vector=False)
        return {str(r.id): r.payload for r in records if r.payload}

    def _open_content(self) -> qe.EdgeShard:
        content = self._content
        if content is None:
            raise BackendUnavailable(f"index {self._path} is not open")
        return content

    def _require_meta(self) -> IndexMeta:
        if self._meta is None:
            raise BackendUnavailable(f"index {self._path} is not open")
        return self._meta

    def _point(self, doc: IndexedDoc, dim: int) -> qe.Point:
        check_dense(doc, dim)
        vectors: dict[str, qe.NamedVector] = {self._schema.dense_name: doc.dense.tolist()}
        if not doc.sparse.is_empty():
            vectors[self._schema.sparse_name] = qe.SparseVector(
                list(doc.sparse.indices), list(doc.sparse.values)
            )
        payload = self._schema.search_payload({**doc.payload, "key": doc.key})
        return qe.Point(point_id(doc.key), vectors, payload)

    def _config(self, dim: int) -> qe.EdgeConfig:
        s, h, o = self._schema, self._schema.hnsw, self._schema.optimizers
        modifier = qe.Modifier.Idf if s.sparse_modifier == "idf" else None
        return qe.EdgeConfig(
            max_search_threads=self._search_threads,
            vectors={
                s.dense_name: qe.EdgeVectorParams(size=dim, distance=_DISTANCES[s.dense_distance])
            },
            sparse_vectors={s.sparse_name: qe.EdgeSparseVectorParams(modifier=modifier)},
            hnsw_config=qe.HnswIndexConfig(
                m=h.m,
                ef_construct=h.ef_construct,
                full_scan_threshold=h.full_scan_threshold_kb,
                payload_m=h.payload_m,
            ),
            optimizers=qe.EdgeOptimizersConfig(
                deleted_threshold=o.deleted_threshold,
                vacuum_min_vector_number=o.vacuum_min_vector_number,
                default_segment_number=o.default_segment_number,
                indexing_threshold=o.indexing_threshold_kb,
            ),
        )

    def _ensure_payload_indexes(self, shard: qe.EdgeShard) -> None:
        # Also on load, so an index added to collection.json reaches existing shards.
        present = shard.info().payload_schema
        for field, kind in self._schema.payload_indexes:
            if field not in present:
                shard.update(qe.UpdateOperation.create_field_index(field, _PAYLOAD_TYPES[kind]))

    def _read_meta(self) -> IndexMeta | None:
        if not self.meta_path.exists():
            return None
        try:
            raw = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"unreadable {self.meta_path}: {exc}") from exc
        return meta_from_dict(raw, str(self.meta_path))

    def _write_meta(self, meta: IndexMeta) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        tmp = self.meta_path.with_suffix(".json.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(meta_to_dict(meta), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.meta_path)  # atomic: never a half-written meta.json


def _empty(search: Search) -> bool:
    return isinstance(search.vector, SparseVector) and search.vector.is_empty()


def _score(found: tuple[uuid.UUID, float]) -> float:
    return found[1]


def _point(found: tuple[uuid.UUID, float]) -> uuid.UUID:
    return found[0]


def _uuid(pid: qe.PointId) -> uuid.UUID:
    # The engine returns UUID objects; ours are strings (schema.point_id).
    return pid if isinstance(pid, uuid.UUID) else uuid.UUID(str(pid))


def _content_config(search_threads: int | None) -> qe.EdgeConfig:
    # An edge shard needs some vector; points here carry none.
    return qe.EdgeConfig(
        sparse_vectors={"none": qe.EdgeSparseVectorParams()}, max_search_threads=search_threads
    )


def edge_filter(flt: SearchFilter | None) -> qe.Filter | None:
    """SearchFilter -> edge Filter."""
    parts = filter_parts(flt) if flt is not None else None
    if parts is None or parts.empty:
        return None
    must: list[qe.ConditionType] = [
        qe.FieldCondition(name, match=qe.MatchAny(values)) for name, values in parts.any_of
    ]
    if parts.deadline is not None:
        low, high = parts.deadline
        must.append(qe.FieldCondition(DEADLINE_FIELD, range=qe.RangeFloat(gte=low, lte=high)))
    if parts.open_from is not None:
        # Nested so that the "should" applies only to this condition, not the whole filter.
        later = qe.FieldCondition(DEADLINE_FIELD, range=qe.RangeFloat(gte=parts.open_from))
        must.append(qe.Filter(should=[qe.IsEmptyCondition(DEADLINE_FIELD), later]))
    if parts.active_only:
        must.append(qe.IsEmptyCondition(WITHDRAWN_FIELD))
    return qe.Filter(must=must)
