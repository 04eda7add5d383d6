"""Match quality: the evaluation format, metrics, runners and calibration (``simatch eval``).

- ``dataset``: the documented evaluation format (``indexes/eval/README.md``): queries with
  their relevant record ids, plus the records they were judged against;
- ``metrics``: recall@k and MRR;
- ``retrieval``: the project's set per channel (dense, lexical, fused) and language pair;
- ``tatoeba``, ``turku``: the public sets in ``../shared/evaldata/``;
- ``calibrate``: language means, confidence and duplicate thresholds from measured scores;
- ``thresholds``: the recorded minimums that ``simatch eval --check`` enforces;
- ``harness``: builds scratch indexes for all of the above through the product's own path.
"""
