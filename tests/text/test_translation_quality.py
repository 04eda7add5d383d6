"""Lexical channel alone, across languages: Tatoeba fi-en (1000 pairs), scored as Qdrant does.

Measured with Voikko and both FreeDict files: recall@1 fi->en 0.64, en->fi 0.64 with the
twin among the other language's sentences only; 0.59 / 0.59 when both languages share one
index (the twin competes with same-language sentences). Without translation: 0.04; with the
concept vocabulary alone 0.07 (Tatoeba is everyday language, not the social sector).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict

import pytest

from simatch.text.analyzer import LexicalAnalyzer
from tests.conftest import EVALDATA
from tests.text.conftest import needs_freedict

PAIRS = EVALDATA / "tatoeba_fin_eng" / "tatoeba_fin_eng.jsonl"


def recall_at_1(
    analyzer: LexicalAnalyzer, pairs: list[dict[str, str]], src: str, tgt: str
) -> float:
    vectors = [analyzer.encode_document(pair[tgt], tgt) for pair in pairs]
    df = Counter(i for v in vectors for i in v.indices)
    n = len(vectors)
    idf = {i: math.log(1 + (n - d + 0.5) / (d + 0.5)) for i, d in df.items()}
    postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for doc, vector in enumerate(vectors):
        for i, value in zip(vector.indices, vector.values, strict=True):
            postings[i].append((doc, value))
    hits = 0
    for k, pair in enumerate(pairs):
        query = analyzer.analyse_query(pair[src], src).sparse
        scores: dict[int, float] = defaultdict(float)
        for i, weight in zip(query.indices, query.values, strict=True):
            for doc, value in postings.get(i, ()):
                scores[doc] += weight * idf[i] * value
        if scores and max(scores, key=lambda d: scores[d]) == k:
            hits += 1
    return hits / len(pairs)


@pytest.mark.slow
@needs_freedict
@pytest.mark.skipif(not PAIRS.exists(), reason="shared/evaldata is not next to the repo")
def test_translated_queries_find_their_twins(analyzer: LexicalAnalyzer) -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    assert recall_at_1(analyzer, pairs, "fi", "en") > 0.5
    assert recall_at_1(analyzer, pairs, "en", "fi") > 0.5
