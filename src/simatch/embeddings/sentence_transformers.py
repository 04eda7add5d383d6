"""Optional embedder: any sentence-transformers model by name or local path.

Needs the ``sentence-transformers`` extra (and torch==2.13.0, the CPU build on these machines).
Weights must be local: nothing is downloaded at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from simatch.domain.ports import Vector
from simatch.errors import ConfigError


class SentenceTransformerEmbedder:
    def __init__(
        self,
        model: str,
        query_prefix: str = "",
        document_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        self._name = model
        self._query_prefix = query_prefix
        self._document_prefix = document_prefix
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"sentence-transformers/{self._name}"

    @property
    def dim(self) -> int:
        model = self._get()
        # Renamed in sentence-transformers 6 (the old name warns); 6.0 may lack the new one.
        get = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        return int(get())

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from sentence_transformers import SentenceTransformer
                    except ImportError as exc:  # pragma: no cover - depends on the extra
                        raise ConfigError(
                            "SIMATCH_EMBEDDING_BACKEND=sentence-transformers needs the extra: "
                            "pip install 'simatch[sentence-transformers]'"
                        ) from exc
                    self._model = SentenceTransformer(self._name, device="cpu")
        return self._model

    def load(self) -> None:
        self._get()

    def _run(self, texts: Sequence[str], prefix: str) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._get().encode(
            [prefix + t for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        return self._run(texts, self._query_prefix)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        return self._run(texts, self._document_prefix)
