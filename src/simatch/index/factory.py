"""The one place a ``VectorIndex`` is built from ``IndexSettings`` (not yet opened).

A new index backend is a module in this package plus one branch here; the contract suite
(``tests/index/test_contract.py``) then runs against it.
"""

from __future__ import annotations

from simatch.config import IndexSettings
from simatch.domain.ports import VectorIndex
from simatch.index.schema import load_schema


def build_index(settings: IndexSettings) -> VectorIndex:
    schema = load_schema(settings.indexes_dir / "collection.json")
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from simatch.index.qdrant_client import ServerIndex

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        if settings.qdrant_url == ":memory:":
            # qdrant-client's pure-Python local mode: for tests and baselines, not production.
            client = QdrantClient(":memory:")
        else:
            client = QdrantClient(
                url=settings.qdrant_url, api_key=key, timeout=int(settings.qdrant_timeout)
            )
        return ServerIndex(client, settings.collection, schema)
    from simatch.index.qdrant_edge import EdgeIndex

    path = settings.data_dir / "index" / settings.collection
    return EdgeIndex(path, schema, settings.search_threads or None)
