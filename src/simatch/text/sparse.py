"""Sparse lexical vectors for Qdrant's IDF modifier.

The index of a lemma is a stable 31-bit hash (BLAKE2b), identical in every process and on
every machine, unlike Python's ``hash()``. Qdrant multiplies by the IDF of each index itself
(``modifier: idf``), so a document carries only a BM25 term-frequency part:

    tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))

with a fixed average length (documents are encoded one by one, without collection
statistics). A query carries one weight per lemma: 1.0 for its own lemmas, the translation
weight for translated ones. The score Qdrant computes is then sum(query * idf * document).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache

from simatch.domain.ports import SparseVector

INDEX_BITS = 31
K1 = 1.2
B = 0.75
AVERAGE_LENGTH = 40.0  # lemmas in a typical record (title + description), compound parts included


@lru_cache(maxsize=500_000)
def term_index(term: str) -> int:
    """Stable 31-bit index of a term (first 4 bytes of BLAKE2b, top bit cleared)."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") & ((1 << INDEX_BITS) - 1)


class SparseEncoder:
    """Lemmas to ``SparseVector`` with sorted, unique indices. Stateless and thread-safe."""

    def __init__(self, k1: float = K1, b: float = B, average_length: float = AVERAGE_LENGTH):
        if k1 < 0 or not 0.0 <= b <= 1.0 or average_length <= 0:
            raise ValueError("need k1 >= 0, 0 <= b <= 1 and average_length > 0")
        self.k1 = k1
        self.b = b
        self.average_length = average_length

    @property
    def name(self) -> str:
        return f"bm25-blake2b31(k1={self.k1},b={self.b},avg={self.average_length:g})"

    def encode_document(self, lemmas: Iterable[str]) -> SparseVector:
        """BM25 term-frequency weights; colliding lemmas add their counts."""
        counts: Counter[int] = Counter(term_index(lemma) for lemma in lemmas)
        length = sum(counts.values())
        if not length:
            return SparseVector([], [])
        norm = self.k1 * (1.0 - self.b + self.b * length / self.average_length)
        indices = sorted(counts)
        values = [counts[i] * (self.k1 + 1.0) / (counts[i] + norm) for i in indices]
        return SparseVector(indices, values)

    def encode_query(self, weights: Mapping[str, float]) -> SparseVector:
        """One value per lemma (duplicates and collisions merged by max); zeros dropped."""
        merged: dict[int, float] = {}
        for lemma, weight in weights.items():
            if weight <= 0.0:
                continue
            index = term_index(lemma)
            if weight > merged.get(index, 0.0):
                merged[index] = weight
        indices = sorted(merged)
        return SparseVector(indices, [merged[i] for i in indices])
