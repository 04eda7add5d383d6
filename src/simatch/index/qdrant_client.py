"""VectorIndex on qdrant-client: a Qdrant server or cluster (or local mode in tests).

IndexMeta lives in a side collection ``<collection>__meta`` holding one point (id 0) whose
payload is the meta. It uses only APIs every server version has, and works the same in
qdrant-client's local mode (collection-level ``metadata`` would need server 1.16+).

The main collection keeps the vectors and the schema's search fields; each record's whole
payload lives in ``<collection>__content`` under the same point id, written first and
deleted last, so that a search never finds a point without its content.

Every call goes through ``backend_errors``: network failures and 5xx answers become
``BackendUnavailable`` (HTTP 503), so the API can answer and recover by itself, since the
client reconnects on the next request once the server is back.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

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

P = ParamSpec("P")
R = TypeVar("R")

_META_POINT = 0
_SIDE_VECTOR = [1.0]


@contextlib.contextmanager
def backend_errors(collection: str) -> Iterator[None]:
    """The one place where transport failures become BackendUnavailable."""
    try:
        yield
    except UnexpectedResponse as exc:
        if exc.status_code is None or exc.status_code >= 500:
            raise BackendUnavailable(f"qdrant ({collection}) answered {exc.status_code}") from exc
        raise
    except (ResponseHandlingException, httpx.TransportError, ConnectionError, TimeoutError) as exc:
        raise BackendUnavailable(f"qdrant ({collection}) unreachable: {exc}") from exc
    except Exception as exc:
        if _is_grpc_unavailable(exc):
            raise BackendUnavailable(f"qdrant ({collection}) unreachable: {exc}") from exc
        raise


def _is_grpc_unavailable(exc: Exception) -> bool:
    # Only with prefer_grpc=True; grpc is imported lazily to keep the REST path light.
    import grpc

    if not isinstance(exc, grpc.RpcError):
        return False
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        self = args[0]
        assert isinstance(self, ServerIndex)
        with self._serial, backend_errors(self.collection):
            return method(*args, **kwargs)

    return wrapper


class ServerIndex:
    """The VectorIndex port on a ``QdrantClient``; the index owns the client once given."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        schema: CollectionSchema,
        owns_client: bool = True,
        settle_ties: bool = False,
    ) -> None:
        """``owns_client``: close the client with the index (not when builds share one,
        ``index.generations``); ``settle_ties``: equal scores in point-id order
        (``schema.settled``)."""
        self._client = client
        self._settle_ties = settle_ties
        self._owns_client = owns_client
        self.collection = collection
        self.meta_collection = f"{collection}__meta"
        self.content_collection = f"{collection}__content"
        self._schema = schema
        self._meta: IndexMeta | None = None
        opts = client.init_options
        local = opts.get("location") == ":memory:" or opts.get("path") is not None
        # Local mode is plain Python dicts, not safe for concurrent search + upsert: serialise
        # every call there. A server handles concurrency itself, so no lock is taken.
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if local else contextlib.nullcontext()
        )

    # -- lifecycle -------------------------------------------------------------------------

    @_guarded
    def open(self, meta: IndexMeta) -> None:
        where = f"collection {self.collection!r}"
        stored = self._read_meta()
        has_main = self._client.collection_exists(self.collection)
        if stored is not None:
            check_meta(stored, meta, where)
        elif has_main and self._client.count(self.collection, exact=True).count > 0:
            raise ConfigError(
                f"{where} has points but no {self.meta_collection!r}: cannot tell which model "
                "built it; delete it and rebuild"
            )
        else:
            self._write_meta(meta)  # first, as in EdgeIndex: never points of unknown origin
        if not self._client.collection_exists(self.content_collection):
            self._create_side(self.content_collection)
        if not has_main:
            self._create(meta.dim)
        self._meta = meta

    def close(self) -> None:
        if not self._owns_client:
            return
        with contextlib.suppress(Exception):  # closing must never fail a shutdown
            self._client.close()

    def own_client(self) -> None:
        """Close the client with this index from now on."""
        self._owns_client = True

    @_guarded
    def stored_meta(self) -> IndexMeta | None:
        """What this collection was built with (None: nothing written yet)."""
        return self._read_meta()

    def ping(self) -> bool:
        try:
            with self._serial, backend_errors(self.collection):
                self._client.collection_exists(self.collection)
        except BackendUnavailable:
            return False
        return True

    def optimize(self) -> None:
        """No-op: a server runs its optimizers in the background; local mode has none."""

    # -- writes ----------------------------------------------------------------------------

    @_guarded
    def upsert(self, docs: Sequence[IndexedDoc]) -> None:
        if not docs:
            return
        dim = self._require_meta().dim
        points = [self._point(doc, dim) for doc in docs]
        contents = [
            models.PointStruct(
                id=point_id(doc.key), vector=_SIDE_VECTOR, payload={**doc.payload, "key": doc.key}
            )
            for doc in docs
        ]
        self._client.upsert(self.content_collection, points=contents, wait=True)
        self._client.upsert(self.collection, points=points, wait=True)

    @_guarded
    def delete(self, keys: Sequence[str]) -> int:
        existing = [r.id for r in self._retrieve(keys, with_payload=False)]
        if existing:
            selector = models.PointIdsList(points=existing)
            self._client.delete(self.collection, points_selector=selector, wait=True)
        # Also ids without a search point: content left by an interrupted upsert.
        ids: list[models.ExtendedPointId] = [point_id(k) for k in dict.fromkeys(keys)]
        if ids:
            selector = models.PointIdsList(points=ids)
            self._client.delete(self.content_collection, points_selector=selector, wait=True)
        return len(existing)

    # -- reads -----------------------------------------------------------------------------

    @_guarded
    def get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        # Only keys with a search point exist: content without one is an interrupted write.
        present = self._retrieve(keys, with_payload=False)
        payloads = self._contents([r.id for r in present]).values()
        return {str(p["key"]): p for p in payloads if "key" in p}

    @_guarded
    def hashes(self, keys: Sequence[str]) -> dict[str, str]:
        records = self._retrieve(keys, with_payload=["key", "content_hash"])
        payloads = (r.payload or {} for r in records)
        return {str(p["key"]): str(p.get("content_hash", "")) for p in payloads if "key" in p}

    def search_dense(self, vector: Vector, flt: SearchFilter, limit: int) -> list[Hit]:
        return self.search_batch([Search(vector, flt, limit)])[0]

    def search_sparse(self, vector: SparseVector, flt: SearchFilter, limit: int) -> list[Hit]:
        return self.search_batch([Search(vector, flt, limit)])[0]

    @_guarded
    def search_batch(self, searches: Sequence[Search]) -> list[list[Hit]]:
        found = self._query(searches, with_payload=True)
        return [[hit(p.payload, p.score) for p in points] for points in found]

    @_guarded
    def rank_batch(self, searches: Sequence[Search]) -> list[Ranking]:
        # Point ids are hashes of the keys: the key itself comes as the only payload field.
        found = self._query(searches, with_payload=["key"])
        out = []
        for points in found:
            kept = [(p.payload or {}, p.score) for p in points]
            out.append(Ranking([str(f["key"]) for f, _ in kept], [x for _, x in kept]))
        return out

    def _query(
        self, searches: Sequence[Search], with_payload: bool | list[str]
    ) -> list[list[models.ScoredPoint]]:
        """Each search's points, best first; with ``settle_ties``, equal scores in point-id
        order (``settled``: the same in every build of the index)."""
        if not self._settle_ties:
            return self._server(searches, with_payload)
        return settled(
            searches, lambda batch: self._server(batch, with_payload), _score, _point_order
        )

    def _server(
        self, searches: Sequence[Search], with_payload: bool | list[str]
    ) -> list[list[models.ScoredPoint]]:
        requests = {
            i: self._request(s, with_payload)
            for i, s in enumerate(searches)
            if not (isinstance(s.vector, SparseVector) and s.vector.is_empty())
        }
        if not requests:
            return [[] for _ in searches]
        # One round trip to the server for all of them.
        found = self._client.query_batch_points(self.collection, requests=list(requests.values()))
        results = dict(zip(requests, found, strict=True))
        return [results[i].points if i in results else [] for i in range(len(searches))]

    @_guarded
    def scroll(
        self, flt: SearchFilter, limit: int, cursor: str | None = None
    ) -> tuple[list[Hit], str | None]:
        # Qdrant scrolls in point-id order: stable, and the next id is a natural cursor.
        records, next_id = self._client.scroll(
            self.collection,
            scroll_filter=client_filter(flt),
            limit=limit,
            offset=parse_cursor(cursor),
            with_payload=True,
            with_vectors=False,
        )
        full = self._contents([r.id for r in records])
        hits = [hit(full.get(str(r.id)) or r.payload, 0.0) for r in records]
        return hits, (str(next_id) if next_id is not None else None)

    @_guarded
    def count(self, flt: SearchFilter | None = None) -> int:
        count_filter = client_filter(flt) if flt else None
        return self._client.count(self.collection, count_filter=count_filter, exact=True).count

    # -- helpers ---------------------------------------------------------------------------

    def _request(self, search: Search, with_payload: bool | list[str]) -> models.QueryRequest:
        query: list[float] | models.SparseVector
        if isinstance(search.vector, SparseVector):
            indices, values = list(search.vector.indices), list(search.vector.values)
            query, using = (
                models.SparseVector(indices=indices, values=values),
                self._schema.sparse_name,
            )
        else:
            query, using = search.vector.tolist(), self._schema.dense_name
        return models.QueryRequest(
            query=query,
            using=using,
            filter=client_filter(search.flt),
            limit=search.limit,
            with_payload=with_payload,
            with_vector=False,
        )

    def _retrieve(self, keys: Sequence[str], with_payload: bool | list[str]) -> list[models.Record]:
        ids: list[models.ExtendedPointId] = [point_id(k) for k in dict.fromkeys(keys)]
        if not ids:
            return []
        return self._client.retrieve(
            self.collection, ids=ids, with_payload=with_payload, with_vectors=False
        )

    def _contents(self, ids: Sequence[models.ExtendedPointId]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        records = self._client.retrieve(
            self.content_collection, ids=list(ids), with_payload=True, with_vectors=False
        )
        return {str(r.id): dict(r.payload) for r in records if r.payload}

    def _require_meta(self) -> IndexMeta:
        if self._meta is None:
            raise BackendUnavailable(f"index {self.collection!r} is not open")
        return self._meta

    def _point(self, doc: IndexedDoc, dim: int) -> models.PointStruct:
        check_dense(doc, dim)
        vectors: dict[str, Any] = {self._schema.dense_name: doc.dense.tolist()}
        if not doc.sparse.is_empty():
            vectors[self._schema.sparse_name] = models.SparseVector(
                indices=list(doc.sparse.indices), values=list(doc.sparse.values)
            )
        payload = self._schema.search_payload({**doc.payload, "key": doc.key})
        return models.PointStruct(id=point_id(doc.key), vector=vectors, payload=payload)

    def _read_meta(self) -> IndexMeta | None:
        if not self._client.collection_exists(self.meta_collection):
            return None
        found = self._client.retrieve(self.meta_collection, ids=[_META_POINT], with_payload=True)
        if not found or not found[0].payload:
            return None
        return meta_from_dict(dict(found[0].payload), f"collection {self.meta_collection!r}")

    def _write_meta(self, meta: IndexMeta) -> None:
        if not self._client.collection_exists(self.meta_collection):
            self._create_side(self.meta_collection)
        point = models.PointStruct(id=_META_POINT, vector=_SIDE_VECTOR, payload=meta_to_dict(meta))
        self._client.upsert(self.meta_collection, points=[point], wait=True)

    def _create_side(self, name: str) -> None:
        # A 1-d dummy vector: the plainest shape that local mode and any server accept.
        self._client.create_collection(
            name, vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)
        )

    def _create(self, dim: int) -> None:
        s, h, o = self._schema, self._schema.hnsw, self._schema.optimizers
        modifier = models.Modifier.IDF if s.sparse_modifier == "idf" else None
        self._client.create_collection(
            self.collection,
            vectors_config={
                s.dense_name: models.VectorParams(
                    size=dim, distance=models.Distance(s.dense_distance.capitalize())
                )
            },
            sparse_vectors_config={s.sparse_name: models.SparseVectorParams(modifier=modifier)},
            hnsw_config=models.HnswConfigDiff(
                m=h.m,
                ef_construct=h.ef_construct,
                payload_m=h.payload_m,
                full_scan_threshold=h.full_scan_threshold_kb,
            ),
            optimizers_config=models.OptimizersConfigDiff(
                deleted_threshold=o.deleted_threshold,
                vacuum_min_vector_number=o.vacuum_min_vector_number,
                default_segment_number=o.default_segment_number,
                indexing_threshold=o.indexing_threshold_kb,
            ),
        )
        for field, kind in s.payload_indexes:
            # Ignored by local mode (it warns once); used by a server for filtered HNSW.
            self._client.create_payload_index(
                self.collection, field, field_schema=models.PayloadSchemaType(kind), wait=True
            )


def client_filter(flt: SearchFilter | None) -> models.Filter | None:
    """SearchFilter -> qdrant-client Filter."""
    parts = filter_parts(flt) if flt is not None else None
    if parts is None or parts.empty:
        return None
    must: list[models.Condition] = [
        models.FieldCondition(key=name, match=models.MatchAny(any=values))
        for name, values in parts.any_of
    ]
    if parts.deadline is not None:
        low, high = parts.deadline
        must.append(
            models.FieldCondition(key=DEADLINE_FIELD, range=models.Range(gte=low, lte=high))
        )
    if parts.open_from is not None:
        # Nested so that the "should" applies only to this condition, not the whole filter.
        no_deadline = models.IsEmptyCondition(is_empty=models.PayloadField(key=DEADLINE_FIELD))
        later = models.FieldCondition(key=DEADLINE_FIELD, range=models.Range(gte=parts.open_from))
        must.append(models.Filter(should=[no_deadline, later]))
    if parts.active_only:
        must.append(models.IsEmptyCondition(is_empty=models.PayloadField(key=WITHDRAWN_FIELD)))
    return models.Filter(must=must)


def _score(point: models.ScoredPoint) -> float:
    return point.score


def _point_order(point: models.ScoredPoint) -> uuid.UUID:
    """Point ids are UUIDs (``point_id``): ordered as the edge adapter orders them."""
    return uuid.UUID(str(point.id))
