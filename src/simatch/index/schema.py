"""The collection schema, and what both index backends share besides it.

The schema is data (``indexes/collection.json``), not code, so operators can tune HNSW or add
a payload index without touching Python. Both index backends read the same schema; only the
dense vector size is not in it, because it comes from the embedding model (``IndexMeta.dim``).
The shared part (point ids, metadata checks, filter and hit helpers) lives here too so the
two adapters cannot drift apart on it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from simatch.domain.ports import Hit, IndexedDoc, IndexMeta, Search, SearchFilter
from simatch.errors import ConfigError, InvalidInput, ModelMismatch

DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parents[3] / "indexes" / "collection.json"

DISTANCES = ("cosine", "dot", "euclid")
MODIFIERS = ("idf", "none")
PAYLOAD_TYPES = ("keyword", "integer", "float", "bool", "datetime")


@dataclass(frozen=True)
class HnswSettings:
    m: int
    ef_construct: int
    payload_m: int
    full_scan_threshold_kb: int


@dataclass(frozen=True)
class OptimizerSettings:
    deleted_threshold: float
    vacuum_min_vector_number: int
    default_segment_number: int
    indexing_threshold_kb: int


@dataclass(frozen=True)
class CollectionSchema:
    schema_version: int
    dense_name: str
    dense_distance: str
    sparse_name: str
    sparse_modifier: str
    # field name -> type, in file order (both backends create them in this order)
    payload_indexes: tuple[tuple[str, str], ...]
    # The payload fields stored beside the vectors and returned by searches. The whole
    # payload lives in a content store under the same point id and is read only for the
    # few records a match shows: reading ~6 KB payloads for every candidate cost more than
    # the searches themselves (benchmarks/README.md).
    search_fields: tuple[str, ...]
    hnsw: HnswSettings
    optimizers: OptimizerSettings

    @property
    def indexed_fields(self) -> dict[str, str]:
        return dict(self.payload_indexes)

    def search_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {f: payload[f] for f in self.search_fields if f in payload}


def load_schema(path: Path | None = None) -> CollectionSchema:
    """Read and validate the schema; any problem is a ConfigError naming the file."""
    path = path or DEFAULT_SCHEMA_PATH
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read collection schema {path}: {exc}") from exc
    try:
        return _parse(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"invalid collection schema {path}: {exc}") from exc


def _parse(raw: dict[str, Any]) -> CollectionSchema:
    dense, sparse = raw["dense"], raw["sparse"]
    distance = _choice("dense.distance", str(dense.get("distance", "cosine")), DISTANCES)
    modifier = _choice("sparse.modifier", str(sparse.get("modifier", "idf")), MODIFIERS)
    indexes = tuple(
        (str(name), _choice(f"payload_indexes.{name}", str(kind), PAYLOAD_TYPES))
        for name, kind in dict(raw["payload_indexes"]).items()
    )
    hnsw, opt = raw["hnsw"], raw["optimizers"]
    search_fields = tuple(_name("search_fields", f) for f in raw["search_fields"])
    schema = CollectionSchema(
        schema_version=_positive("schema_version", raw["schema_version"]),
        dense_name=_name("dense.name", dense["name"]),
        dense_distance=distance,
        sparse_name=_name("sparse.name", sparse["name"]),
        sparse_modifier=modifier,
        payload_indexes=indexes,
        search_fields=search_fields,
        hnsw=HnswSettings(
            m=_positive("hnsw.m", hnsw["m"]),
            ef_construct=_positive("hnsw.ef_construct", hnsw["ef_construct"]),
            payload_m=_non_negative("hnsw.payload_m", hnsw.get("payload_m", 0)),
            full_scan_threshold_kb=_positive(
                "hnsw.full_scan_threshold_kb", hnsw.get("full_scan_threshold_kb", 10000)
            ),
        ),
        optimizers=OptimizerSettings(
            deleted_threshold=float(opt.get("deleted_threshold", 0.2)),
            vacuum_min_vector_number=_non_negative(
                "optimizers.vacuum_min_vector_number", opt.get("vacuum_min_vector_number", 1000)
            ),
            default_segment_number=_non_negative(
                "optimizers.default_segment_number", opt.get("default_segment_number", 0)
            ),
            indexing_threshold_kb=_non_negative(
                "optimizers.indexing_threshold_kb", opt.get("indexing_threshold_kb", 20000)
            ),
        ),
    )
    if schema.dense_name == schema.sparse_name:
        raise ValueError("dense and sparse vectors need different names")
    if not 0.0 < schema.optimizers.deleted_threshold <= 1.0:
        raise ValueError("optimizers.deleted_threshold must be in (0, 1]")
    if schema.indexed_fields.get("key") != "keyword":
        # Both backends filter by key (SearchFilter.keys); without the index that is a scan.
        raise ValueError("payload_indexes must index 'key' as keyword")
    unsearchable = [f for f, _ in indexes if f not in search_fields]
    if unsearchable:
        # Filters run on the search store: an indexed field must be stored there.
        raise ValueError(f"payload_indexes {unsearchable} must also be in search_fields")
    return schema


# Point ids are derived from the record key so that re-ingesting a record overwrites its point.
# Changing this namespace would orphan every stored point: never change it.
POINT_NAMESPACE = uuid.UUID("6f1c2a9e-5d43-4f3b-9a57-2c1d3b8e7a10")


def point_id(key: str) -> str:
    return str(uuid.uuid5(POINT_NAMESPACE, key))


def meta_to_dict(meta: IndexMeta) -> dict[str, Any]:
    return asdict(meta)


def meta_from_dict(raw: dict[str, Any], where: str) -> IndexMeta:
    try:
        return IndexMeta(
            model_id=str(raw["model_id"]),
            dim=int(raw["dim"]),
            schema_version=int(raw.get("schema_version", 1)),
            lexical=str(raw.get("lexical", "")),
            dense=str(raw.get("dense", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"unreadable index metadata in {where}: {exc}") from exc


def check_meta(stored: IndexMeta, wanted: IndexMeta, where: str) -> None:
    """Refuse to open an index built by another model (vectors would be meaningless)."""
    same_space = stored.dense == wanted.dense
    if stored.model_id != wanted.model_id or (same_space and stored.dim != wanted.dim):
        raise ModelMismatch(
            f"index {where} was built with model {stored.model_id!r} (dim {stored.dim}) but the "
            f"configured model is {wanted.model_id!r} (dim {wanted.dim}); configure "
            f"{stored.model_id!r} or rebuild the index",
            {"stored": meta_to_dict(stored), "configured": meta_to_dict(wanted)},
        )
    if stored.lexical and wanted.lexical and stored.lexical != wanted.lexical:
        # Another lemmatizer or hashing gives other sparse indices: lexical search would
        # silently miss. Typically Voikko was installed on one machine and not on another.
        raise ConfigError(
            f"index {where} was built with text analysis {stored.lexical!r} but this process "
            f"uses {wanted.lexical!r}; set SIMATCH_LEMMATIZER to match, or rebuild the index",
            {"stored": meta_to_dict(stored), "configured": meta_to_dict(wanted)},
        )
    if stored.dense != wanted.dense:
        # Records were stored centred with other language means (or raw): dense scores of
        # queries made now would be skewed by language. The embedding cache makes a rebuild cheap.
        raise ConfigError(
            f"index {where} stores dense vectors as {stored.dense or 'raw'!r} but this process "
            f"uses {wanted.dense or 'raw'!r} (indexes/language_means.json changed); rebuild the "
            "index (`simatch reindex`, or re-import the records; cached embeddings are reused)",
            {"stored": meta_to_dict(stored), "configured": meta_to_dict(wanted)},
        )
    if stored.schema_version != wanted.schema_version:
        raise ConfigError(
            f"index {where} has schema version {stored.schema_version}, this code expects "
            f"{wanted.schema_version}; rebuild the index",
            {"stored": meta_to_dict(stored), "configured": meta_to_dict(wanted)},
        )


def check_dense(doc: IndexedDoc, dim: int) -> None:
    if doc.dense.shape != (dim,):
        raise InvalidInput(f"{doc.key}: dense vector shape {doc.dense.shape}, expected ({dim},)")


def parse_cursor(cursor: str | None) -> str | None:
    """Scroll cursors are the next point id (a UUID string); anything else is bad input."""
    if cursor is None:
        return None
    try:
        return str(uuid.UUID(cursor))
    except ValueError as exc:
        raise InvalidInput(f"invalid scroll cursor {cursor!r}") from exc


def hit(payload: dict[str, Any] | None, score: float) -> Hit:
    payload = payload or {}
    return Hit(key=str(payload.get("key", "")), score=float(score), payload=payload)


H = TypeVar("H")
# ``settled`` asks the engine for at most this many times a search's limit.
SETTLE_MOST = 16


def settled(
    searches: Sequence[Search],
    fetch: Callable[[Sequence[Search]], list[list[H]]],
    score: Callable[[H], float],
    order: Callable[[H], Any],
) -> list[list[H]]:
    """Each search's hits from ``fetch`` (the engine, best first), with hits of equal score
    in ``order`` (their point ids), also where the ``limit`` cuts a run of them.

    The engine's own order of equal scores is not fixed: the same import on copies of one
    data directory gave records with the same lexical score (alike texts) in different
    orders, and which of them a need's match showed, or alerted, changed from run to run
    (docs/alerts.md). So one hit more than asked is fetched, and a search whose last hit
    ties the one at its limit is fetched again with twice the limit until the run of ties
    ends within it, up to ``SETTLE_MOST`` times the limit (a run longer than that, as many
    records tied on one common word, is cut in the engine's order)."""
    asked = [s.limit + 1 for s in searches]
    most = [s.limit * SETTLE_MOST + 1 for s in searches]
    found = fetch([replace(s, limit=n) for s, n in zip(searches, asked, strict=True)])
    pending = [i for i, s in enumerate(searches) if _run_cut(found[i], s.limit, asked[i], score)]
    while pending:
        for i in pending:
            asked[i] = min(asked[i] * 2, most[i])
        again = fetch([replace(searches[i], limit=asked[i]) for i in pending])
        for i, hits in zip(pending, again, strict=True):
            found[i] = hits
        pending = [
            i
            for i in pending
            if asked[i] < most[i] and _run_cut(found[i], searches[i].limit, asked[i], score)
        ]
    return [
        _in_order(hits, score, order)[: s.limit] for s, hits in zip(searches, found, strict=True)
    ]


def _run_cut(hits: list[H], limit: int, asked: int, score: Callable[[H], float]) -> bool:
    """Whether hits not fetched yet may tie the last one within ``limit``."""
    if not 0 < limit < len(hits) or len(hits) < asked:
        return False  # nothing cut, or the engine had no more
    return score(hits[-1]) == score(hits[limit - 1])


def _in_order(hits: list[H], score: Callable[[H], float], order: Callable[[H], Any]) -> list[H]:
    """Runs of equal scores sorted by ``order``; the engine's order of scores is kept (for
    any distance, best first)."""
    scores = [score(h) for h in hits]
    if all(a != b for a, b in pairwise(scores)):
        return hits
    out: list[H] = []
    start = 0
    for end in range(1, len(hits) + 1):
        if end == len(hits) or scores[end] != scores[start]:
            run = hits[start:end]
            out.extend(sorted(run, key=order) if len(run) > 1 else run)
            start = end
    return out


DEADLINE_FIELD = "deadline_day"
WITHDRAWN_FIELD = "withdrawn"


@dataclass(frozen=True)
class FilterParts:
    """A SearchFilter in payload terms; each backend maps it to its own Filter type."""

    any_of: list[tuple[str, list[str]]]  # AND across fields, any value within one
    deadline: tuple[int | None, int | None] | None  # gte, lte on deadline_day
    open_from: int | None  # deadline_day >= this, or no deadline at all
    active_only: bool = False  # only points without a withdrawn field

    @property
    def empty(self) -> bool:
        return (
            not self.any_of
            and self.deadline is None
            and self.open_from is None
            and not self.active_only
        )


def filter_parts(flt: SearchFilter) -> FilterParts:
    lists = (
        ("kind", flt.kinds),
        ("language", flt.languages),
        ("regions", flt.regions),
        ("target_groups", flt.target_groups),
        ("key", flt.keys),
    )
    deadline = None
    if flt.deadline_from is not None or flt.deadline_to is not None:
        deadline = (
            flt.deadline_from.toordinal() if flt.deadline_from else None,
            flt.deadline_to.toordinal() if flt.deadline_to else None,
        )
    return FilterParts(
        any_of=[(name, list(values)) for name, values in lists if values],
        deadline=deadline,
        open_from=flt.open_on.toordinal() if flt.open_on else None,
        active_only=flt.active_only,
    )


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    value = value.lower()
    if value not in allowed:
        raise ValueError(f"{field} is {value!r}, expected one of {', '.join(allowed)}")
    return value


def _name(field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} must be a non-empty string")
    return value


def _non_negative(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a non-negative integer, got {value!r}")
    return value


def _positive(field: str, value: object) -> int:
    number = _non_negative(field, value)
    if number == 0:
        raise ValueError(f"{field} must be positive")
    return number
