"""Vector index adapters behind the ``VectorIndex`` port: ``qdrant_edge`` (embedded) and
``qdrant_client`` (a server), the collection ``schema``, and ``factory`` that builds one."""
