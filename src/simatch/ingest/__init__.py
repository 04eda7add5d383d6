"""Reading, validating, embedding and indexing records in batches."""
