"""Scratch indexes for evaluation, built through the product's own ingest and match path.

Every evaluated collection lives under one scratch directory (default: ``<data dir>/eval``)
with one embedding cache, so a second run embeds nothing new. Questions are embedded once per
run (``MemoEmbedder``), whichever channel ranks them. Collections whose stored vectors no
longer fit (the language means changed) are rebuilt: they are scratch.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simatch.config import IndexSettings, Settings
from simatch.domain.ports import Embedder, Vector
from simatch.domain.stores import EmbeddingCache
from simatch.embeddings.factory import build_bulk_embedder
from simatch.errors import ConfigError
from simatch.ingest.cache import text_key
from simatch.ingest.pipeline import Ingestor, IngestSettings
from simatch.ingest.readers import RawRow
from simatch.ingest.report import IngestReport
from simatch.stores.factory import open_embedding_cache_file
from simatch.wiring import Container


class MemoEmbedder:
    """Remembers query vectors for the run (evaluation asks the same question many times);
    with a cache, query vectors also survive across runs (keys prefixed ``query:``)."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self._queries: dict[str, Vector] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def load(self) -> None:
        self.inner.load()

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        missing = [t for t in dict.fromkeys(texts) if t not in self._queries]
        if missing and self.cache is not None:
            keys = {t: text_key(self.model_id, "query:" + t) for t in missing}
            found = self.cache.get_many(list(keys.values()))
            for text, key in keys.items():
                if key in found:
                    self._queries[text] = found[key]
            missing = [t for t in missing if t not in self._queries]
        if missing:
            fresh = self.inner.embed_queries(missing)
            for text, vector in zip(missing, fresh, strict=True):
                self._queries[text] = vector
            if self.cache is not None:
                self.cache.put_many(
                    {
                        text_key(self.model_id, "query:" + t): v
                        for t, v in zip(missing, fresh, strict=True)
                    }
                )
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._queries[t] for t in texts]).astype(np.float32)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        return self.inner.embed_documents(texts)


class _NoFeedback:
    def boosts(self, query_vector: Vector) -> dict[str, float]:
        return {}


class Workspace:
    """Containers on scratch collections that share one embedder and embedding cache."""

    def __init__(
        self,
        settings: Settings,
        root: Path,
        embedder: Embedder | None = None,
        cache: Path | None = None,
    ) -> None:
        """``cache``: the embedding cache file (default: in ``root``); one file can serve
        several workspaces, e.g. a CI job's fresh indexes."""
        self.settings = settings
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.cache = open_embedding_cache_file(cache or root / "embedding-cache.sqlite")
        inner = embedder or build_bulk_embedder(settings.embedding)
        self.embedder = MemoEmbedder(inner, self.cache)
        self._open: dict[str, Container] = {}

    def container(self, name: str) -> Container:
        """A container on collection ``eval-<name>`` (rebuilt if its vectors are stale); the
        same one for the same name (a collection opens once per process)."""
        if name in self._open:
            return self._open[name]
        for attempt in (1, 2):
            box = self._build(name)
            try:
                box.index  # noqa: B018 - opens the collection and checks its metadata
            except ConfigError:
                box.close()
                if attempt == 2:
                    raise
                shutil.rmtree(self.root / "index" / f"eval-{name}", ignore_errors=True)
                continue
            self._open[name] = box
            return box
        raise AssertionError("unreachable")

    def ingest(self, box: Container, rows: Iterable[RawRow]) -> IngestReport:
        """Through the product's Ingestor (cached embeddings, centred vectors); no duplicate
        checks (the evaluation measures them on its own)."""
        ingestor = Ingestor(
            box.embedder,
            box.index,
            box.analyzer,
            self.cache,
            IngestSettings(optimize_after=10**9),
            centring=box.centring,
        )
        return ingestor.ingest(rows)

    def close(self) -> None:
        for box in self._open.values():
            box.close()
        self._open.clear()
        self.cache.close()

    def _build(self, name: str) -> Container:
        s = self.settings
        index = IndexSettings(  # always embedded: never a configured Qdrant server
            data_dir=self.root,
            collection=f"eval-{name}",
            indexes_dir=s.index.indexes_dir,
            qdrant_url=None,
            qdrant_api_key=None,
        )
        return Container(
            s.replace(index=index),
            embedder=self.embedder,
            cache=self.cache,  # its ingestor reuses the workspace's embeddings
            feedback_boosts=_NoFeedback(),  # rankings must not depend on a feedback log
        )


def keys_of(box: Container, kinds: Sequence[str] = ()) -> list[str]:
    """Every record key in the box's index."""
    from simatch.domain.ports import SearchFilter

    keys: list[str] = []
    cursor: str | None = None
    while True:
        hits, cursor = box.index.scroll(SearchFilter(kinds=tuple(kinds)), 256, cursor)
        keys.extend(h.key for h in hits)
        if cursor is None:
            return keys


def payloads(box: Container, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = box.index.get(list(keys))
    return found
