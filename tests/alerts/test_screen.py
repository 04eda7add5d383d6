"""The screened detection finds exactly what matching every followed need finds: the demo
data (real texts, the real model, index and calibration), half of it indexed with its needs
followed, the other half imported; each import's records checked both ways."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from simatch.alerts.detector import Arrival, DetectionSettings, Detector
from simatch.domain.alerts import Found, Subscription, key_id
from simatch.domain.results import Confidence
from simatch.ingest.demo import demo_rows
from simatch.ingest.readers import RawRow
from simatch.wiring import Container
from tests.alerts.conftest import BoxFactory

INDEXES = Path(__file__).resolve().parents[2] / "indexes"


def _half(row: RawRow) -> int:
    assert row.data is not None
    return hashlib.sha256(f"{row.data['kind']}:{row.data['id']}".encode()).digest()[0] % 2


def _items(found: Sequence[Found]) -> set[tuple[str, str, str, float]]:
    return {
        (f.need_key, item.key, item.confidence, round(item.score, 6))
        for f in found
        for item in f.items
    }


SETTINGS: list[tuple[Confidence, int]] = [("possible", 10), ("possible", 3), ("weak", 3)]


def test_the_screened_path_alerts_exactly_what_the_exact_path_alerts(
    make_box: BoxFactory,
) -> None:
    box: Container = make_box(seed=False)
    rows = list(demo_rows(INDEXES))
    first = [r for r in rows if _half(r) == 0]
    later = [r for r in rows if _half(r) == 1]
    assert len(first) > 50 and len(later) > 50
    box.ingestor.ingest(first)
    now = datetime.now(UTC)
    needs = [f"need:{r.data['id']}" for r in first if r.data and r.data["kind"] == "need"]
    for n, key in enumerate(needs):
        box.alert_store.add_subscription(
            Subscription(id=f"{n:020x}", need_key=key, channel="webhook", frequency="immediate",
                         target={"url": "https://example.org/h"}, secret="s" * 64,
                         language="fi", owner=None, created=now),
            None,
        )  # fmt: skip
    imports: list[Sequence[Arrival]] = []

    def keep(arrivals: Sequence[Arrival], journal_ids: Sequence[int] = ()) -> int:
        imports.append(list(arrivals))  # detected below, both ways; nothing written
        return 0

    box.alert_detector.detect = keep  # type: ignore[method-assign]
    # Two imports: the second one's records compete with the first's in the index.
    box.ingestor.ingest(later[: len(later) // 2])
    box.ingestor.ingest(later[len(later) // 2 :])
    assert len(imports) == 2 and all(a.sparse is not None for a in imports[0])

    for least, top in SETTINGS:
        settings = DetectionSettings(min_confidence=least, top=top)
        made = [
            Detector(box.matcher, box.index, box.alert_store, settings, box.calibration,
                     exact=exact)
            for exact in (False, True)
        ]  # fmt: skip
        alerted: set[tuple[str, str, str, float]] = set()
        for arrivals in imports:
            fast, slow = (_items(d.find(arrivals)) for d in made)
            assert fast == slow, (least, top, fast ^ slow)
            alerted |= slow
        # A test that can fail: there is something to find, and the screen spared work.
        assert len(alerted) >= 5, (least, top, alerted)
        assert {key.split(":")[0] for _, key, _, _ in alerted} >= {"call", "innovation"}
        if least != "weak":  # every followed need here has a weak item or more
            assert made[0].checked < made[1].checked, (least, top)
    # The needs' bars were kept for the next import (the records indexed so far).
    bars, _ = box.alert_store.bars(needs)
    assert {b.pool for b in bars} == {"call", "other"} and all(b.similarities for b in bars)

    # A deleted record leaves every bar (another process may import next).
    held = {i for b in bars for i in b.keys}
    key = next(a.key for a in imports[1] if key_id(a.key) in held)
    box.record_service.delete_ids([key])
    after, _ = box.alert_store.bars(needs)
    assert len(after) == len(bars) and all(key_id(key) not in b.keys for b in after)
