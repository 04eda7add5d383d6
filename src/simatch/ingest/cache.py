"""Content-hash keys of the embedding cache: an unchanged text is never embedded twice by the
same model. The cache itself is a store (``domain.stores.EmbeddingCache``)."""

from __future__ import annotations

import hashlib


def text_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()
