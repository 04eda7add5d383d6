"""Getting records in: readers (JSONL, CSV), validation and the import report, the Ingestor
(embed through the cache, index in batches) and near-duplicate detection."""
