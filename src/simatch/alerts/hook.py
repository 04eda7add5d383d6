"""Where imports meet alerts: the Ingestor's ``IndexListener``.

Before a batch is indexed its keys and content hashes go into the store's journal; after it
is indexed the detector checks it and removes the entries in the same transaction as the
alerts it wrote. A process killed in between, or a detection that failed, leaves entries in
the journal, and ``catch_up`` checks those records later (the server does it on every alerts
tick, `simatch alerts run --catch-up` on demand). Detection never fails an import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date

from simatch.alerts.detector import Arrival, Detector, arrival_from_payload
from simatch.domain.alerts import AlertStore
from simatch.domain.ports import Vector, VectorIndex
from simatch.domain.records import BaseRecord, record_from_payload

log = logging.getLogger(__name__)

VectorsOf = Callable[[Sequence[BaseRecord]], list[Vector]]


class AlertHook:
    def __init__(self, store: AlertStore, detector: Callable[[], Detector]) -> None:
        self.store = store
        self._detector = detector  # built on first use: the Matcher opens the index

    def before_index(self, records: Sequence[BaseRecord], hashes: dict[str, str]) -> object:
        if not self.store.followed_needs():
            return None  # nobody follows anything: nothing to journal or detect
        return self.store.journal_add([(r.key, hashes[r.key]) for r in records])

    def after_index(
        self, records: Sequence[BaseRecord], vectors: Sequence[Vector], token: object
    ) -> None:
        if not isinstance(token, list):
            return
        arrivals = [_arrival(r, v) for r, v in zip(records, vectors, strict=True)]
        try:
            written = self._detector().detect(arrivals, token)
        except Exception:
            # The journal keeps the records; catch_up checks them again.
            log.exception("alert detection failed for %d records; kept for catch-up", len(records))
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


def _arrival(record: BaseRecord, vector: Vector) -> Arrival:
    deadline = getattr(record, "deadline", None)
    return Arrival(
        key=record.key,
        kind=record.kind,
        organisation=record.organisation_name,
        deadline=deadline if isinstance(deadline, date) else None,
        vector=vector,
    )
