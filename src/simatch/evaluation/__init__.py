"""Match quality (``simatch eval``): the evaluation format, metrics, the project's and public
sets, calibration and recorded thresholds, all run through the product's own ingest and match."""
