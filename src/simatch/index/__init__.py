"""Vector index adapters behind the ``VectorIndex`` port.

``qdrant_edge.EdgeIndex`` runs the Qdrant engine in-process on a shard directory;
``qdrant_client.ServerIndex`` talks to a Qdrant server (or qdrant-client's local mode in
tests). Both read the collection schema from ``indexes/collection.json`` via ``schema``.
Nothing is imported here so that importing the package stays cheap.
"""
