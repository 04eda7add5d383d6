"""The serving build of the index, replaceable while the process runs (``LiveIndex``).

``simatch reindex`` builds the index again beside the serving build and switches a pointer
when the new build is complete (``index.generations``). A running server keeps answering
from the build it opened; ``LiveIndex`` lets it move to the new build without a restart:

- every call is delegated to the build that serves (a ``VectorIndex`` of its own);
- ``pinned()`` marks one request: every call inside it, from that thread, goes to the build
  that served when it began, so a match never reads one build and then another;
- ``replace(name, build)`` waits until no call and no pinned request is in flight, holding
  new ones back meanwhile, swaps, and hands back the old build for the caller to close;
- ``writes_held()`` makes writes (upsert, delete) wait for the block's end, reads go on: a
  rebuild in this process takes its last look at the serving build and switches inside it,
  so no write lands in the old build after that look.

The swap itself is a reference assignment: requests wait for it only as long as the longest
request in flight when it was asked for. Opening and checking the new build (its model, its
text analysis) is the caller's work, before ``replace``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from simatch.domain.ports import (
    Hit,
    IndexedDoc,
    IndexMeta,
    Ranking,
    Search,
    SearchFilter,
    SparseVector,
    Vector,
    VectorIndex,
)

T = TypeVar("T")


class LiveIndex:
    """A ``VectorIndex`` serving one build at a time, replaceable between requests."""

    def __init__(self, name: str, build: VectorIndex) -> None:
        self._name = name
        self._build = build
        self._gate = threading.Condition()
        self._in_flight = 0  # calls and pinned requests using the current build
        self._replacing = False  # a replacement waits: new users wait behind it
        self._writes_held = False
        self._pins = threading.local()  # this thread's pinned build, if any, and its depth

    @property
    def name(self) -> str:
        """The name of the build that serves (``IndexGenerations``)."""
        return self._name

    @property
    def build(self) -> VectorIndex:
        """The build that serves now."""
        return self._build

    @contextlib.contextmanager
    def pinned(self) -> Iterator[VectorIndex]:
        """One request: its calls (from this thread) all go to the build that serves now,
        and a replacement waits until it ends. Nested pins keep the outer one's build."""
        held = getattr(self._pins, "build", None)
        if held is not None:
            self._pins.depth += 1
            try:
                yield held
            finally:
                self._pins.depth -= 1
            return
        build = self._enter()
        self._pins.build, self._pins.depth = build, 1
        try:
            yield build
        finally:
            self._pins.build = None
            self._leave()

    def replace(self, name: str, build: VectorIndex) -> VectorIndex:
        """Serve ``build`` (opened) from now on, once the requests in flight have ended;
        returns the build it replaced (still open: close it when done). Called from a
        thread that holds no pin."""
        if getattr(self._pins, "build", None) is not None:
            raise RuntimeError("replace() from inside a pinned request would wait for itself")
        with self._gate:
            while self._replacing:  # one replacement at a time
                self._gate.wait()
            self._replacing = True
            try:
                self._gate.wait_for(lambda: self._in_flight == 0)
                old, self._build, self._name = self._build, build, name
            finally:
                self._replacing = False
                self._gate.notify_all()
        return old

    @contextlib.contextmanager
    def writes_held(self) -> Iterator[None]:
        """Writes wait until the block ends (reads go on); one holder at a time."""
        with self._gate:
            while self._writes_held:
                self._gate.wait()
            self._writes_held = True
        try:
            yield
        finally:
            with self._gate:
                self._writes_held = False
                self._gate.notify_all()

    def _enter(self, write: bool = False) -> VectorIndex:
        with self._gate:
            while self._replacing or (write and self._writes_held):
                self._gate.wait()
            self._in_flight += 1
            return self._build

    def _leave(self) -> None:
        with self._gate:
            self._in_flight -= 1
            if not self._in_flight:
                self._gate.notify_all()

    def _call(self, use: Callable[[VectorIndex], T], write: bool = False) -> T:
        held: VectorIndex | None = getattr(self._pins, "build", None)
        if held is not None:
            return use(held)
        build = self._enter(write)
        try:
            return use(build)
        finally:
            self._leave()

    # -- VectorIndex ------------------------------------------------------------------------

    def open(self, meta: IndexMeta) -> None:
        self._call(lambda b: b.open(meta))

    def upsert(self, docs: Sequence[IndexedDoc]) -> None:
        self._call(lambda b: b.upsert(docs), write=True)

    def delete(self, keys: Sequence[str]) -> int:
        return self._call(lambda b: b.delete(keys), write=True)

    def get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._call(lambda b: b.get(keys))

    def hashes(self, keys: Sequence[str]) -> dict[str, str]:
        return self._call(lambda b: b.hashes(keys))

    def search_dense(self, vector: Vector, flt: SearchFilter, limit: int) -> list[Hit]:
        return self._call(lambda b: b.search_dense(vector, flt, limit))

    def search_sparse(self, vector: SparseVector, flt: SearchFilter, limit: int) -> list[Hit]:
        return self._call(lambda b: b.search_sparse(vector, flt, limit))

    def search_batch(self, searches: Sequence[Search]) -> list[list[Hit]]:
        return self._call(lambda b: b.search_batch(searches))

    def rank_batch(self, searches: Sequence[Search]) -> list[Ranking]:
        return self._call(lambda b: b.rank_batch(searches))

    def scroll(
        self, flt: SearchFilter, limit: int, cursor: str | None = None
    ) -> tuple[list[Hit], str | None]:
        return self._call(lambda b: b.scroll(flt, limit, cursor))

    def count(self, flt: SearchFilter | None = None) -> int:
        return self._call(lambda b: b.count(flt))

    def optimize(self) -> None:
        self._call(lambda b: b.optimize())

    def ping(self) -> bool:
        return self._call(lambda b: b.ping())

    def close(self) -> None:
        self._call(lambda b: b.close())
