"""One model, two runtimes: queries through one embedder, documents through another."""

from __future__ import annotations

from collections.abc import Sequence

from simatch.domain.ports import Embedder, Vector


class SplitEmbedder:
    """Queries want latency (one short text), documents want throughput (many long ones).

    Both sides must be the same model: the index stores one model id.
    """

    def __init__(self, queries: Embedder, documents: Embedder) -> None:
        if queries.model_id != documents.model_id or queries.dim != documents.dim:
            raise ValueError(
                f"query and document embedders differ: {queries.model_id} vs {documents.model_id}"
            )
        self.queries = queries
        self.documents = documents

    @property
    def model_id(self) -> str:
        return self.documents.model_id

    @property
    def dim(self) -> int:
        return self.documents.dim

    def load(self) -> None:
        """Loads the query side only: a server answers queries first; ingest loads its own."""
        self.queries.load()

    def embed_queries(self, texts: Sequence[str]) -> Vector:
        return self.queries.embed_queries(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        return self.documents.embed_documents(texts)
