"""Where imports meet alerts: the Ingestor's ``IndexListener``.

Before a batch is indexed its keys and content hashes go into the store's journal. The
records indexed are checked once per import, after its last batch (or every
``detect_every`` records of a long one): a followed need is then matched once against all
the new records instead of once per batch, and an alert is about what the need's match shows
once the import is in. The detector removes the journal entries in the same transaction as
the alerts it wrote. A process killed in between, or a detection that failed, leaves entries in
the journal, and ``catch_up`` checks those records later (the server does it on every alerts
tick, `simatch alerts run --catch-up` on demand). Detection never fails an import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from simatch.alerts.bars import BarBook
from simatch.alerts.detector import Arrival, Detector, arrival_from_payload, arrival_of
from simatch.domain.alerts import AlertStore
from simatch.domain.ports import SparseVector, Vector, VectorIndex
from simatch.domain.records import BaseRecord, record_from_payload

log = logging.getLogger(__name__)

VectorsOf = Callable[[Sequence[BaseRecord]], list[Vector]]


class AlertHook:
    """The Ingestor's listener: one ``_ImportRun`` per import. With alerts disabled in this
    process (``enabled=False``) imports are neither journalled nor checked, but deletions
    still reach the needs' bars, which other processes count on."""

    def __init__(
        self,
        store: AlertStore,
        detector: Callable[[], Detector],
        bars: BarBook,
        detect_every: int = 4096,
        enabled: bool = True,
    ) -> None:
        self.store = store
        self._detector = detector  # built on first use: the Matcher opens the index
        self.bars = bars
        self.detect_every = detect_every
        self.enabled = enabled

    def start(self) -> _ImportRun | _Quiet:
        return _ImportRun(self) if self.enabled else _Quiet()

    def deleted(self, keys: Sequence[str]) -> None:
        # The needs' bars may count these records (``alerts.bars``).
        followed = self.store.followed_needs()
        if followed:
            self.bars.forget(followed, keys)


class _Quiet:
    """An import in a process with alerts disabled."""

    def before_index(self, records: Sequence[BaseRecord], hashes: dict[str, str]) -> object:
        return None

    def after_index(
        self,
        records: Sequence[BaseRecord],
        vectors: Sequence[Vector],
        sparse: Sequence[SparseVector],
        token: object,
    ) -> None:
        return None

    def finish(self) -> None:
        return None


class _ImportRun:
    def __init__(self, hook: AlertHook) -> None:
        self.hook = hook
        self.arrivals: dict[str, Arrival] = {}  # by key: a later row of the same record wins
        self.journal_ids: list[int] = []

    def before_index(self, records: Sequence[BaseRecord], hashes: dict[str, str]) -> object:
        if not self.hook.store.followed_needs():
            return None  # nobody follows anything: nothing to journal or detect
        return self.hook.store.journal_add([(r.key, hashes[r.key]) for r in records])

    def after_index(
        self,
        records: Sequence[BaseRecord],
        vectors: Sequence[Vector],
        sparse: Sequence[SparseVector],
        token: object,
    ) -> None:
        if not isinstance(token, list):
            return
        for record, vector, lexical in zip(records, vectors, sparse, strict=True):
            self.arrivals.pop(record.key, None)
            self.arrivals[record.key] = arrival_of(record, vector, lexical)
        self.journal_ids.extend(token)
        if len(self.arrivals) >= self.hook.detect_every:
            self.finish()

    def finish(self) -> None:
        """Check what this import indexed so far. Never raises: a failed detection leaves
        the journal entries for ``catch_up``."""
        arrivals, ids = list(self.arrivals.values()), self.journal_ids
        self.arrivals, self.journal_ids = {}, []
        if not ids:
            return
        try:
            written = self.hook._detector().detect(arrivals, ids)
        except Exception:
            log.exception("alert detection failed for %d records; kept for catch-up", len(arrivals))
            return
        if written:
            log.info("alerts: %d new item(s) for followed needs", written)


def catch_up(
    store: AlertStore,
    detector: Detector,
    index: VectorIndex,
    vectors_of: VectorsOf,
    batch: int = 256,
) -> int:
    """Check the journalled records that detection has not done: those indexed as journalled
    (same content hash) are detected now; the others (never indexed, or changed since: the
    later change has its own entry) are dropped. Returns the alert items written."""
    written = 0
    while True:
        entries = store.journal_pending(batch)
        if not entries:
            return written
        payloads = index.get(list({e.key for e in entries}))
        current = [
            e
            for e in entries
            if e.key in payloads and payloads[e.key].get("content_hash") == e.content_hash
        ]
        stale = [e.id for e in entries if e not in current]
        records = {e.key: record_from_payload(payloads[e.key]) for e in current}
        unique = list(records.values())
        vectors = dict(zip(records, vectors_of(unique), strict=True)) if unique else {}
        arrivals = [arrival_from_payload(payloads[k], vectors[k]) for k in records]
        written += detector.detect(arrivals, [e.id for e in current] + stale)
