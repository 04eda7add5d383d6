"""Ports: what the Matcher and the ingest need from the outside world.

Adapters live in ``simatch.embeddings`` and ``simatch.index``, each package with a
``factory.py`` that builds one from settings; the text toolbox in ``simatch.text``. The
stores' ports are in ``simatch.domain.stores``. Everything here is plain data and Protocols;
a capability an adapter may lack has a method here all the same (a no-op where it is not
needed), so callers never probe with ``getattr``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Dense text embeddings. Queries and documents are embedded differently (E5 prefixes)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def load(self) -> None:
        """Load the model now rather than on the first call (servers warm up with it);
        idempotent, and a no-op for embedders with nothing to load."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        """(n, dim) float32, L2-normalised."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        """(n, dim) float32, L2-normalised."""
        ...


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]

    def is_empty(self) -> bool:
        return not self.indices


@dataclass(frozen=True)
class QueryTerms:
    """The lexical side of a query: its own lemmas plus translations into the other languages."""

    language: str
    lemmas: list[str]
    # translated lemma -> (source lemma, weight in 0..1)
    translations: dict[str, tuple[str, float]] = field(default_factory=dict)
    sparse: SparseVector = field(default_factory=lambda: SparseVector([], []))


@runtime_checkable
class TokenizedDocuments(Protocol):
    """An embedder whose document embedding splits in two: tokenizing (Python) and the model
    (native code, without the GIL). An import tokenizes a batch while the one before is being
    embedded; ``embed_document_tokens(document_tokens(t))`` equals ``embed_documents(t)``."""

    def document_tokens(self, texts: Sequence[str]) -> list[list[list[int]]]: ...

    def embed_document_tokens(self, tokens: Sequence[Sequence[list[int]]]) -> Vector: ...


class TextAnalyzer(Protocol):
    """Language detection, lemmas and sparse lexical vectors (Finnish, English, Swedish)."""

    @property
    def signature(self) -> str:
        """What document lemmas and sparse indices depend on; stored with an index and
        compared when it opens ("" = not recorded)."""
        ...

    def detect_language(self, text: str) -> str:
        """'fi', 'en' or 'sv'."""
        ...

    def lemmas(self, text: str, language: str) -> list[str]:
        """Content-word lemmas in order, stop words dropped, compound parts added."""
        ...

    def encode_document(self, text: str, language: str) -> SparseVector: ...

    def encode_lemmas(self, lemmas: Sequence[str]) -> SparseVector:
        """Document sparse vector from lemmas already computed (ingest lemmatises once)."""
        ...

    def analyse_query(self, text: str, language: str) -> QueryTerms: ...


@dataclass(frozen=True)
class IndexMeta:
    """Stored with the index; opening it with another model is an error."""

    model_id: str
    dim: int
    schema_version: int = 1
    # How document lemmas and sparse indices were made; "" = not recorded (accept any).
    lexical: str = ""
    # How stored dense vectors were transformed (LanguageCentring.signature); "" = raw.
    dense: str = ""


@dataclass(frozen=True)
class IndexedDoc:
    key: str  # "kind:id", unique
    dense: Vector
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchFilter:
    """All given conditions must hold (AND); within a list, any value matches (OR).

    ``open_on``: records that have a deadline must have it on or after this day; records
    without a deadline pass. That is how closed calls are kept out of every result.
    ``active_only``: records a source has withdrawn are left out (matches); staff listings
    leave it off and see them.
    """

    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    deadline_from: date | None = None
    deadline_to: date | None = None
    open_on: date | None = None
    keys: tuple[str, ...] = ()
    active_only: bool = False


@dataclass(frozen=True)
class Search:
    """One search of a batch: dense when ``vector`` is an array, lexical when sparse."""

    vector: Vector | SparseVector
    flt: SearchFilter
    limit: int


@dataclass(frozen=True)
class Hit:
    key: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class Ranking:
    """One search's result as record keys and scores alone, best first (``rank_batch``)."""

    keys: list[str]
    scores: list[float]


class FeedbackBoosts(Protocol):
    """Staff and user feedback, turned into score changes for queries like this one."""

    def boosts(self, query_vector: Vector) -> dict[str, float]:
        """record key -> additive change of the fused score (about -0.3..+0.3)."""
        ...


class VectorIndex(Protocol):
    """One collection of records with a named dense and a named sparse (IDF) vector.

    Payload written by ingest (the index indexes these fields):
      key, kind, id, language, regions[], target_groups[], deadline_day (int, date.toordinal()),
      withdrawn (ISO time, only on records a source withdrew), content_hash, title, funders[],
      record (the full record as JSON), passages and terms
      (lemmas, for explanations).

    Searches return only the schema's search fields (``search_fields`` in collection.json:
    everything above but record, passages and terms); ``get`` and ``scroll`` return whole
    payloads. Reading whole payloads for every candidate was the largest cost of a match.
    """

    def open(self, meta: IndexMeta) -> None:
        """Create the collection, or open it and check ``meta`` (raise ModelMismatch)."""
        ...

    def upsert(self, docs: Sequence[IndexedDoc]) -> None: ...

    def delete(self, keys: Sequence[str]) -> int:
        """Returns how many of the keys existed."""
        ...

    def get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Payloads of the keys that exist."""
        ...

    def hashes(self, keys: Sequence[str]) -> dict[str, str]:
        """content_hash of the keys that exist (cheap: used to skip unchanged records)."""
        ...

    def search_dense(self, vector: Vector, flt: SearchFilter, limit: int) -> list[Hit]:
        """Hits carry the search fields only; ``get`` the keys whose whole payload you need."""
        ...

    def search_sparse(self, vector: SparseVector, flt: SearchFilter, limit: int) -> list[Hit]:
        """Hits carry the search fields only; ``get`` the keys whose whole payload you need."""
        ...

    def search_batch(self, searches: Sequence[Search]) -> list[list[Hit]]:
        """Several searches in one call to the engine, results in the same order; an empty
        sparse vector finds nothing. A match runs its four searches this way: the engine
        plans them together, and the embedded engine holds the GIL once instead of four
        times."""
        ...

    def rank_batch(self, searches: Sequence[Search]) -> list[Ranking]:
        """``search_batch`` with the keys and scores of the hits alone: no payloads and no
        object per hit. Reverse matching (alerts) ranks about 100 hits for each of
        thousands of followed needs per import, and needs little more than their order."""
        ...

    def scroll(
        self, flt: SearchFilter, limit: int, cursor: str | None = None
    ) -> tuple[list[Hit], str | None]:
        """Stable order (point-id order, not alphabetical by key); ``cursor`` is opaque;
        returns (page, next_cursor), next_cursor None on the last page."""
        ...

    def count(self, flt: SearchFilter | None = None) -> int: ...

    def optimize(self) -> None:
        """Build HNSW / vacuum after bulk loads (not per upsert)."""
        ...

    def ping(self) -> bool:
        """True when the backend answers."""
        ...

    def close(self) -> None: ...


class ServingIndex(Protocol):
    """The index a running process answers from, moved to another build of the same
    collection between requests (``index.live``, ``services.index_builds``)."""

    @property
    def name(self) -> str:
        """The build that serves (``IndexGenerations`` names)."""
        ...

    @property
    def build(self) -> VectorIndex:
        """The build that serves now."""
        ...

    def pinned(self) -> AbstractContextManager[VectorIndex]:
        """Around one request: its calls all go to one build, and no switch happens
        before it ends."""
        ...

    def replace(self, name: str, build: VectorIndex) -> VectorIndex:
        """Serve ``build`` (opened) once the requests in flight have ended; returns the
        build it replaced, still open."""
        ...

    def writes_held(self) -> AbstractContextManager[None]:
        """Writes to the index wait until the block ends; reads go on."""
        ...


class IndexGenerations(Protocol):
    """The builds of one collection: the one serving (``current``) and rebuilds beside it
    (``simatch reindex``). A process resolves ``current`` when it opens the index; a server
    follows later switches between requests, and only to builds of its own model
    (``services.index_builds``)."""

    def current(self) -> str:
        """The name of the build that serves."""
        ...

    def names(self) -> list[str]:
        """Every build that exists, the current one and unfinished rebuilds included."""
        ...

    def next_name(self) -> str:
        """A name for a new build, not used by any existing one."""
        ...

    def build(self, name: str) -> VectorIndex:
        """The build ``name`` as an index, not yet opened."""
        ...

    def stored_meta(self, name: str) -> IndexMeta | None:
        """What the build ``name`` was made with (None: nothing written yet)."""
        ...

    def switch(self, name: str) -> None:
        """Make ``name`` the current build, atomically: processes that open the index from
        now on open it."""
        ...

    def drop(self, name: str) -> None:
        """Delete the build ``name`` (never the current one)."""
        ...

    def close(self) -> None:
        """Release the connection (a server's client); builds are closed on their own."""
        ...
