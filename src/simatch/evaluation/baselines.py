"""The two baselines every judged evaluation reports next to the product, on the same records.

- ``BareModel``: the embedding model alone: plain cosine between the question's and each
  record's vector as the model gives them (no centring, no translation, exhaustive search).
- ``Bm25``: Okapi BM25 (k1 1.2, b 0.75, collection statistics) over the lemmas the product's
  analyzer gives, in the question's own words only (no translation, no concepts).

A channel of the product that does not beat these is not earning its keep.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from simatch.domain.ports import Vector


class BareModel:
    def __init__(self, keys: Sequence[str], vectors: Vector) -> None:
        self.keys = list(keys)
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def rank(self, query: Vector, limit: int) -> list[tuple[str, float]]:
        scores = self.vectors @ np.asarray(query, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:limit]
        return [(self.keys[i], float(scores[i])) for i in top]


class Bm25:
    def __init__(
        self, keys: Sequence[str], lemmas: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> None:
        self.keys = list(keys)
        self.k1 = k1
        self.b = b
        self.lengths = [len(doc) for doc in lemmas]
        self.average = (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(lemmas):
            for term, count in Counter(doc).items():
                self.postings[term].append((i, count))
        n = len(self.keys)
        self.idf = {
            term: math.log(1.0 + (n - len(p) + 0.5) / (len(p) + 0.5))
            for term, p in self.postings.items()
        }

    def rank(self, lemmas: Sequence[str], limit: int) -> list[tuple[str, float]]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(lemmas):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = self.k1 * (1.0 - self.b + self.b * self.lengths[i] / self.average)
                scores[i] += idf * tf * (self.k1 + 1.0) / (tf + norm)
        best = sorted(scores.items(), key=lambda item: (-item[1], self.keys[item[0]]))[:limit]
        return [(self.keys[i], s) for i, s in best]
