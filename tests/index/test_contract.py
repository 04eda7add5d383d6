"""The VectorIndex contract, run against every backend (edge on disk, client in :memory:)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simatch.domain.ports import (
    IndexedDoc,
    IndexMeta,
    Search,
    SearchFilter,
    SparseVector,
    VectorIndex,
)
from simatch.errors import BackendUnavailable, InvalidInput, ModelMismatch
from simatch.index.schema import CollectionSchema, load_schema, point_id

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")

DIM = 16
META = IndexMeta(model_id="fake-16", dim=DIM)
TODAY = date(2026, 11, 15)

# Term ids of the hand-made sparse vectors: COMMON is in every record but need:1,
# RARE only in need:1, so IDF must rank need:1 first for a query on both.
COMMON, RARE, OTHER = 1, 99, 50
TIE = 7  # only in records that tie (``test_equal_scores_...``)


def unit(seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def make_doc(
    key: str, seed: int, terms: dict[int, float], deadline: date | None = None, **payload: Any
) -> IndexedDoc:
    kind, _, ident = key.partition(":")
    body: dict[str, Any] = {
        "kind": kind,
        "id": ident,
        "language": "fi",
        "regions": [],
        "target_groups": [],
        "content_hash": f"h-{key}-{seed}",
        "record": {"title": key},
        "terms": [],
        **payload,
    }
    if deadline is not None:
        body["deadline_day"] = deadline.toordinal()
    sparse = SparseVector(list(terms), list(terms.values()))
    return IndexedDoc(key=key, dense=unit(seed), sparse=sparse, payload=body)


def corpus() -> list[IndexedDoc]:
    return [
        make_doc("innovation:1", 1, {COMMON: 1.0, OTHER: 1.0}, regions=["uusimaa"],
                 target_groups=["youth"]),
        make_doc("innovation:2", 2, {COMMON: 1.0}, language="en",
                 regions=["pirkanmaa", "uusimaa"], target_groups=["elderly"]),
        make_doc("need:1", 3, {RARE: 1.0}, regions=["lappi"], target_groups=["youth", "families"]),
        make_doc("call:open", 4, {COMMON: 1.0, OTHER: 1.0}, TODAY + timedelta(days=30),
                 regions=["uusimaa"], target_groups=["youth"]),
        make_doc("call:past", 5, {COMMON: 1.0}, TODAY - timedelta(days=10), language="en"),
        make_doc("call:today", 6, {COMMON: 1.0}, TODAY),
        make_doc("actor:1", 7, {COMMON: 1.0}, language="sv", regions=["pohjanmaa"],
                 target_groups=["immigrants"]),
    ]  # fmt: skip


@dataclass
class Backend:
    """Builds fresh (unopened) index objects over the same storage, and closes them all."""

    name: str
    factory: Callable[..., VectorIndex]  # keywords: the adapter's options (settle_ties)
    opened: list[VectorIndex] = field(default_factory=list)

    def new(self, **options: Any) -> VectorIndex:
        index = self.factory(**options)
        self.opened.append(index)
        return index

    def open(self, meta: IndexMeta = META, **options: Any) -> VectorIndex:
        index = self.new(**options)
        index.open(meta)
        return index


@pytest.fixture(scope="session")
def schema() -> CollectionSchema:
    return load_schema()


@pytest.fixture(params=["edge", "client"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, schema: CollectionSchema
) -> Iterator[Backend]:
    if request.param == "edge":
        from simatch.index.qdrant_edge import EdgeIndex

        b = Backend("edge", lambda **kw: EdgeIndex(tmp_path / "idx", schema, **kw))
    else:
        from qdrant_client import QdrantClient

        from simatch.index.qdrant_client import ServerIndex

        client = QdrantClient(":memory:")
        b = Backend("client", lambda **kw: ServerIndex(client, "records", schema, **kw))
    yield b
    for index in b.opened:
        if b.name == "edge":
            index.close()  # the client is shared by the ServerIndex objects; GC drops it


@pytest.fixture
def index(backend: Backend) -> VectorIndex:
    idx = backend.open()
    idx.upsert(corpus())
    return idx


ALL = {d.key for d in corpus()}


def keys_of(index: VectorIndex, flt: SearchFilter) -> set[str]:
    return {h.key for h in index.search_dense(unit(0), flt, limit=100)}


# -- writes and reads ----------------------------------------------------------------------


def test_upsert_get_hashes(index: VectorIndex) -> None:
    got = index.get(["need:1", "call:open", "missing:1"])
    assert set(got) == {"need:1", "call:open"}
    assert got["need:1"]["key"] == "need:1"
    assert got["need:1"]["regions"] == ["lappi"]
    assert got["call:open"]["deadline_day"] == (TODAY + timedelta(days=30)).toordinal()
    assert got["need:1"]["record"] == {"title": "need:1"}
    assert index.hashes(["need:1", "missing:1"]) == {"need:1": "h-need:1-3"}
    assert index.get([]) == {} and index.hashes([]) == {}


def test_reupsert_is_idempotent(index: VectorIndex) -> None:
    index.upsert(corpus())
    assert index.count() == len(ALL)


def test_update_changes_payload(index: VectorIndex) -> None:
    index.upsert([make_doc("need:1", 3, {RARE: 1.0}, content_hash="h2", regions=["kainuu"])])
    assert index.get(["need:1"])["need:1"]["regions"] == ["kainuu"]
    assert index.hashes(["need:1"]) == {"need:1": "h2"}
    assert index.count() == len(ALL)


def test_delete_counts_existing(index: VectorIndex) -> None:
    assert index.delete(["need:1", "actor:1", "missing:1"]) == 2
    assert index.get(["need:1", "actor:1"]) == {}
    assert index.count() == len(ALL) - 2
    assert "need:1" not in keys_of(index, SearchFilter())
    assert index.delete(["need:1"]) == 0


def test_wrong_dimension_is_invalid_input(index: VectorIndex) -> None:
    bad = replace(make_doc("need:9", 9, {}), dense=np.ones(DIM + 1, dtype=np.float32))
    with pytest.raises(InvalidInput):
        index.upsert([bad])


# -- search --------------------------------------------------------------------------------


def test_dense_ranks_nearest_first(index: VectorIndex) -> None:
    query = unit(4) + 0.05 * unit(100)  # close to call:open
    hits = index.search_dense(query / np.linalg.norm(query), SearchFilter(), limit=3)
    assert hits[0].key == "call:open"
    assert hits[0].score > hits[1].score >= hits[2].score
    assert hits[0].payload["kind"] == "call"


def test_sparse_idf_rare_term_outranks_common(index: VectorIndex) -> None:
    hits = index.search_sparse(SparseVector([COMMON, RARE], [1.0, 1.0]), SearchFilter(), 10)
    assert hits[0].key == "need:1"
    assert hits[0].score > hits[1].score
    assert {h.key for h in hits} == ALL  # every record has one of the two terms


def test_search_hits_carry_search_fields_only(index: VectorIndex, schema: CollectionSchema) -> None:
    dense = index.search_dense(unit(3), SearchFilter(), limit=len(ALL))
    sparse = index.search_sparse(SparseVector([RARE], [1.0]), SearchFilter(), 10)
    for hit in [*dense, *sparse]:
        assert set(hit.payload) <= set(schema.search_fields)
        assert hit.payload["key"] == hit.key and hit.payload["kind"] == hit.key.split(":")[0]
        assert "record" not in hit.payload and "terms" not in hit.payload
    # The whole payload is one get away, for the few records that are shown.
    whole = index.get([dense[0].key])[dense[0].key]
    assert whole["record"] == {"title": dense[0].key} and whole["terms"] == []


def test_search_sees_updates_and_deletes(index: VectorIndex) -> None:
    query = SparseVector([RARE], [1.0])
    assert index.search_sparse(query, SearchFilter(), 10)[0].payload["regions"] == ["lappi"]
    index.upsert([make_doc("need:1", 3, {RARE: 1.0}, regions=["kainuu"], organisation="x")])
    (found,) = index.search_sparse(query, SearchFilter(), 10)
    assert found.payload["regions"] == ["kainuu"] and found.payload["organisation"] == "x"
    index.delete(["need:1"])
    assert index.search_sparse(query, SearchFilter(), 10) == []


def test_scroll_returns_whole_payloads(index: VectorIndex) -> None:
    page, _ = index.scroll(SearchFilter(), limit=len(ALL))
    assert {h.key for h in page} == ALL
    assert all(h.payload["record"] == {"title": h.key} for h in page)


def test_delete_removes_content_too(index: VectorIndex) -> None:
    index.delete(["need:1"])
    # Re-adding the key with a search point only would expose stale content: it must be gone.
    assert index.get(["need:1"]) == {}
    index.upsert([make_doc("need:1", 3, {RARE: 1.0}, record={"title": "again"})])
    assert index.get(["need:1"])["need:1"]["record"] == {"title": "again"}


def test_search_batch_equals_single_searches(index: VectorIndex) -> None:
    calls, others = SearchFilter(kinds=("call",)), SearchFilter(kinds=("innovation", "need"))
    sparse = SparseVector([COMMON, RARE], [1.0, 1.0])
    searches = [
        Search(unit(4), calls, 2),
        Search(sparse, others, 10),
        Search(SparseVector([], []), others, 10),  # empty: nothing, and no error
        Search(unit(1), others, 3),
    ]
    batch = index.search_batch(searches)
    assert [[h.key for h in hits] for hits in batch] == [
        [h.key for h in index.search_dense(unit(4), calls, 2)],
        [h.key for h in index.search_sparse(sparse, others, 10)],
        [],
        [h.key for h in index.search_dense(unit(1), others, 3)],
    ]
    assert batch[0][0].key == "call:open" and batch[1][0].key == "need:1"
    assert index.search_batch([]) == []


def test_rank_batch_is_search_batch_without_payloads(index: VectorIndex) -> None:
    calls = SearchFilter(kinds=("call",), open_on=TODAY, active_only=True)
    others = SearchFilter(kinds=("innovation", "need", "actor"), active_only=True)
    sparse = SparseVector([COMMON, RARE], [1.0, 0.5])
    # Sparse and dense interleaved as reverse matching asks them, an empty one among them.
    searches = [
        Search(sparse, others, 10),
        Search(unit(4), calls, 60),
        Search(SparseVector([], []), calls, 60),
        Search(SparseVector([COMMON, OTHER], [1.0, 1.0]), calls, 60),
        Search(unit(1), others, 2),
        Search(unit(7), SearchFilter(), 60),
    ]

    def both() -> tuple[list[list[str]], list[list[str]]]:
        """Keys of each search both ways (the scores checked on the way)."""
        full, lean = index.search_batch(searches), index.rank_batch(searches)
        for hits, ranked in zip(full, lean, strict=True):
            # qdrant-client's local mode recomputes cosines in float32 per call.
            assert ranked.scores == pytest.approx([h.score for h in hits], rel=1e-6)
        return [[h.key for h in hits] for hits in full], [r.keys for r in lean]

    full, lean = both()
    assert lean == full
    assert [len(r) for r in lean] == [4, 2, 0, 2, 2, 7]
    assert lean[0][0] == "need:1" and lean[1][0] == "call:open"
    index.delete(["call:open"])
    full, lean = both()
    assert lean == full and "call:open" not in {k for r in lean for k in r}
    assert index.rank_batch([]) == []


def test_equal_scores_come_in_point_id_order_also_where_the_limit_cuts(
    backend: Backend,
) -> None:
    """The engine's order of hits of equal score is not fixed (it changed between runs on
    copies of one data directory, ``settled``): with ``settle_ties`` every search gives them
    in point-id order, also where the limit cuts a run of them."""
    index = backend.open(settle_ties=True)
    index.upsert(corpus())
    ties = [f"innovation:tie-{n:02d}" for n in range(12)]
    ordered = sorted(ties, key=lambda k: uuid.UUID(point_id(k)))
    # Written in the reverse order, in two batches: not the order the searches must give.
    written = [make_doc(k, 42, {TIE: 1.0}) for k in reversed(ordered)]
    index.upsert(written[:7])
    index.upsert(written[7:])
    innovations = SearchFilter(kinds=("innovation",))
    for limit in (1, 5, 11, 12, 13):
        searches = [
            Search(unit(42), innovations, limit),
            Search(SparseVector([TIE], [1.0]), innovations, limit),
        ]
        dense, lexical = index.rank_batch(searches)
        assert dense.keys[:12] == ordered[:limit] and len(dense.keys) == limit, limit
        assert lexical.keys == ordered[:limit], limit  # only the ties have the term
        for hits, ranked in zip(index.search_batch(searches), (dense, lexical), strict=True):
            assert [h.key for h in hits] == ranked.keys, limit


def test_sparse_empty_query_returns_nothing(index: VectorIndex) -> None:
    assert index.search_sparse(SparseVector([], []), SearchFilter(), 10) == []


FILTERS = {
    "kind": (SearchFilter(kinds=("call",)), {"call:open", "call:past", "call:today"}),
    "language": (SearchFilter(languages=("en",)), {"innovation:2", "call:past"}),
    "region_any": (SearchFilter(regions=("lappi", "pohjanmaa")), {"need:1", "actor:1"}),
    "target_group": (
        SearchFilter(target_groups=("youth",)),
        {"innovation:1", "need:1", "call:open"},
    ),
    "deadline_range": (
        SearchFilter(deadline_from=TODAY, deadline_to=TODAY + timedelta(days=60)),
        {"call:open", "call:today"},
    ),
    "open_on": (SearchFilter(open_on=TODAY), ALL - {"call:past"}),
    "keys": (SearchFilter(keys=("need:1", "actor:1", "missing:1")), {"need:1", "actor:1"}),
    "combined": (
        SearchFilter(kinds=("call",), open_on=TODAY, regions=("uusimaa",)),
        {"call:open"},
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_filters(index: VectorIndex, name: str) -> None:
    flt, expected = FILTERS[name]
    assert keys_of(index, flt) == expected
    sparse = index.search_sparse(SparseVector([COMMON, RARE], [1.0, 1.0]), flt, 100)
    assert {h.key for h in sparse} == expected
    assert index.count(flt) == len(expected)


def test_count_with_and_without_filter(index: VectorIndex) -> None:
    assert index.count() == len(ALL)
    assert index.count(SearchFilter()) == len(ALL)
    assert index.count(SearchFilter(kinds=("nothing",))) == 0


@pytest.mark.parametrize("flt", [SearchFilter(), SearchFilter(open_on=TODAY)])
def test_scroll_visits_every_record_once(index: VectorIndex, flt: SearchFilter) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page, cursor = index.scroll(flt, limit=3, cursor=cursor)
        assert len(page) <= 3
        seen += [h.key for h in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(keys_of(index, flt))
    assert len(seen) == len(set(seen))
    again, _ = index.scroll(flt, limit=100)
    assert [h.key for h in again] == seen  # stable order


def test_scroll_rejects_garbage_cursor(index: VectorIndex) -> None:
    with pytest.raises(InvalidInput):
        index.scroll(SearchFilter(), limit=3, cursor="not-a-cursor")


def test_optimize_keeps_results(index: VectorIndex) -> None:
    before = index.search_dense(unit(4), SearchFilter(open_on=TODAY), limit=5)
    index.optimize()
    after = index.search_dense(unit(4), SearchFilter(open_on=TODAY), limit=5)
    assert [h.key for h in after] == [h.key for h in before]
    assert index.count() == len(ALL)


# -- metadata and lifecycle ----------------------------------------------------------------


@pytest.mark.parametrize(
    "other", [IndexMeta(model_id="other-model", dim=DIM), IndexMeta(model_id="fake-16", dim=8)]
)
def test_reopen_with_other_model_fails(backend: Backend, other: IndexMeta) -> None:
    first = backend.open()
    first.upsert(corpus()[:2])
    if backend.name == "edge":
        first.close()  # one opener per shard
    with pytest.raises(ModelMismatch) as err:
        backend.open(other)
    assert META.model_id in err.value.message and other.model_id in err.value.message
    reopened = backend.open(META)  # the right model still opens it
    assert reopened.count() == 2


def test_search_while_upserting(index: VectorIndex) -> None:
    """The API searches from worker threads while ingest writes: no errors, no lost points."""
    errors: list[BaseException] = []
    done = threading.Event()

    def searcher() -> None:
        while not done.is_set():
            try:
                index.search_dense(unit(4), SearchFilter(kinds=("call",)), limit=5)
                index.search_sparse(SparseVector([COMMON], [1.0]), SearchFilter(), limit=5)
            except BaseException as exc:  # collected, re-raised by the assert below
                errors.append(exc)
                return

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for batch in range(10):
            index.upsert([make_doc(f"need:x{batch}-{i}", 1000 + i, {RARE: 1.0}) for i in range(20)])
    finally:
        done.set()
        for t in threads:
            t.join()
    assert errors == []
    assert index.count() == len(ALL) + 200


def test_ping(backend: Backend) -> None:
    index = backend.open()
    assert index.ping()


# -- edge persistence ----------------------------------------------------------------------


def test_edge_reopen_after_close_keeps_points(tmp_path: Path, schema: CollectionSchema) -> None:
    from simatch.index.qdrant_edge import EdgeIndex

    index = EdgeIndex(tmp_path / "idx", schema)
    index.open(META)
    index.upsert(corpus())
    index.close()
    assert not index.ping()
    reopened = EdgeIndex(tmp_path / "idx", schema)
    reopened.open(META)
    try:
        assert reopened.count() == len(ALL)
        assert reopened.hashes(["need:1"]) == {"need:1": "h-need:1-3"}
        assert keys_of(reopened, SearchFilter(kinds=("call",))) == {
            "call:open",
            "call:past",
            "call:today",
        }
    finally:
        reopened.close()


def test_edge_second_opener_is_refused(tmp_path: Path, schema: CollectionSchema) -> None:
    from simatch.index.qdrant_edge import EdgeIndex

    first = EdgeIndex(tmp_path / "idx", schema)
    first.open(META)
    try:
        with pytest.raises(BackendUnavailable):
            EdgeIndex(tmp_path / "idx", schema).open(META)
    finally:
        first.close()


KILLED_WRITER = """
import os, signal
from pathlib import Path
from simatch.index.qdrant_edge import EdgeIndex
from simatch.index.schema import load_schema
from test_contract import META, corpus

index = EdgeIndex(Path({path!r}), load_schema())
index.open(META)
index.upsert(corpus())
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: as a crash would
"""


def test_edge_points_survive_sigkill(tmp_path: Path, schema: CollectionSchema) -> None:
    from simatch.index.qdrant_edge import EdgeIndex

    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), *sys.path])}
    code = textwrap.dedent(KILLED_WRITER).format(path=str(tmp_path / "idx"))
    proc = subprocess.run([sys.executable, "-c", code], env=env, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    index = EdgeIndex(tmp_path / "idx", schema)
    index.open(META)
    try:
        assert index.count() == len(ALL)
        assert index.get(["need:1"])["need:1"]["kind"] == "need"
    finally:
        index.close()


# -- server failures -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_unreachable_is_backend_unavailable(schema: CollectionSchema) -> None:
    from qdrant_client import QdrantClient

    from simatch.index.qdrant_client import ServerIndex

    client = QdrantClient(
        url=f"http://127.0.0.1:{_free_port()}", timeout=1, check_compatibility=False
    )
    index = ServerIndex(client, "records", schema)
    with pytest.raises(BackendUnavailable):
        index.open(META)
    with pytest.raises(BackendUnavailable):
        index.count()
    assert index.ping() is False


class _Always503(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_GET

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def failing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Always503)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_server_5xx_is_backend_unavailable(schema: CollectionSchema, failing_server: str) -> None:
    from qdrant_client import QdrantClient

    from simatch.index.qdrant_client import ServerIndex

    client = QdrantClient(url=failing_server, timeout=2, check_compatibility=False)
    with pytest.raises(BackendUnavailable) as err:
        ServerIndex(client, "records", schema).open(META)
    assert "503" in err.value.message


def test_active_only_leaves_out_withdrawn_records(index: VectorIndex) -> None:
    withdrawn = make_doc("call:gone", 4, {RARE: 1.0}, TODAY, withdrawn="2026-11-01T10:00:00Z")
    index.upsert([withdrawn])
    active = SearchFilter(kinds=("call",), open_on=TODAY, active_only=True)
    everything = SearchFilter(kinds=("call",), open_on=TODAY)
    assert "call:gone" not in keys_of(index, active)
    assert keys_of(index, everything) - keys_of(index, active) == {"call:gone"}
    assert "call:gone" not in {h.key for h in index.search_dense(unit(4), active, 10)}
    assert index.search_dense(unit(4), everything, 10)[0].key in {"call:gone", "call:open"}
    assert index.count(active) == index.count(everything) - 1
