"""Near-duplicate records for staff: the pairs flagged at ingest, or a fresh scan of the
whole index (after the threshold changed). Records are never merged: staff decide."""

from __future__ import annotations

from simatch.domain.ports import TextAnalyzer, VectorIndex
from simatch.domain.stores import DuplicatePair, DuplicateStore
from simatch.ingest.duplicates import DuplicateDetector
from simatch.services.records import all_keys


class DuplicateService:
    def __init__(
        self,
        index: VectorIndex,
        analyzer: TextAnalyzer,
        store: DuplicateStore,
        threshold: float | None,
    ) -> None:
        """``threshold``: the configured or calibrated duplicate score, if any."""
        self.index = index
        self.analyzer = analyzer
        self.store = store
        self.threshold = threshold

    def pairs(self, threshold: float, rescan: bool = False) -> list[DuplicatePair]:
        """Flagged pairs at or above ``threshold`` whose records both still exist, highest
        score first; ``rescan`` checks every indexed record again first."""
        if rescan:
            keys = all_keys(self.index)
            flags = DuplicateDetector(self.index, self.analyzer, threshold).scan(keys)
            self.store.replace(keys, flags)
        existing = set(self.index.get([k for p in self.store.list() for k in (p.a, p.b)]))
        return [p for p in self.store.list(threshold) if p.a in existing and p.b in existing]
