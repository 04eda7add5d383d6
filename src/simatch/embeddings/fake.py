"""A deterministic embedder for fast unit tests of code that does not judge semantics.

Texts sharing words get similar vectors (hashed bag of words), so ranking tests still mean
something; it knows no language, so it never stands in for the real model in quality tests.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from simatch.domain.ports import Vector

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    def __init__(self, dim: int = 64) -> None:
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"fake/bag-of-words:{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def load(self) -> None:
        return None

    def _one(self, text: str) -> Vector:
        vec = np.zeros(self._dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            # Prefix-4 so that inflected forms land close to each other.
            h = zlib.crc32(word[:4].encode("utf-8"))
            vec[h % self._dim] += 1.0 if (h >> 16) & 1 else -1.0
        vec[0] += 0.1  # never the zero vector
        norm = float(np.linalg.norm(vec))
        return vec / norm

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        return np.array([self._one(t) for t in texts], dtype=np.float32).reshape(-1, self._dim)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        return self.embed_queries(texts)
