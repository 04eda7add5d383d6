"""The one place a ``VectorIndex`` is built from ``IndexSettings`` (not yet opened).

A new index backend is a module in this package plus one branch here; the contract suite
(``tests/index/test_contract.py``) then runs against it.
"""

from __future__ import annotations

from simatch.config import IndexSettings
from simatch.domain.ports import IndexGenerations, IndexMeta, VectorIndex
from simatch.index.live import LiveIndex
from simatch.index.schema import load_schema


def build_generations(settings: IndexSettings) -> IndexGenerations:
    """The builds of the configured collection (``index.generations``)."""
    schema = load_schema(settings.indexes_dir / "collection.json")
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from simatch.index.generations import ServerGenerations

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        if settings.qdrant_url == ":memory:":
            # qdrant-client's pure-Python local mode: for tests and baselines, not production.
            client = QdrantClient(":memory:")
        else:
            client = QdrantClient(
                url=settings.qdrant_url, api_key=key, timeout=int(settings.qdrant_timeout)
            )
        return ServerGenerations(client, settings.collection, schema, settings.settle_ties)
    from simatch.index.generations import EdgeGenerations

    root = settings.data_dir / "index"
    return EdgeGenerations(
        root, settings.collection, schema, settings.search_threads or None, settings.settle_ties
    )


def build_index(settings: IndexSettings) -> VectorIndex:
    """The current build of the collection (the one ``simatch reindex`` last switched to)."""
    generations = build_generations(settings)
    index = generations.build(generations.current())
    if settings.qdrant_url:
        from simatch.index.qdrant_client import ServerIndex

        assert isinstance(index, ServerIndex)
        index.own_client()  # the only build this process opens: it closes the client
    return index


def open_serving(generations: IndexGenerations, meta: IndexMeta) -> LiveIndex:
    """The current build, opened (checked against ``meta``), as the index a process serves
    from: replaceable by a later build while it runs (``index.live``)."""
    name = generations.current()
    build = generations.build(name)
    build.open(meta)
    return LiveIndex(name, build)
