"""The overlapped pipeline: batches in order through every stage, errors and cancellation."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from simatch.domain.ports import SearchFilter
from simatch.ingest.overlap import overlapped
from simatch.ingest.readers import RawRow
from simatch.ingest.report import IngestReport
from tests.conftest import ContainerFactory


def test_stages_overlap_and_keep_order() -> None:
    seen: list[tuple[str, int]] = []

    def slow(n: int) -> int:
        time.sleep(0.1)
        seen.append(("slow", n))
        return n

    def last(n: int) -> int:
        seen.append(("last", n))
        return n

    started = time.perf_counter()
    overlapped(range(6), [slow, slow, last])
    elapsed = time.perf_counter() - started
    assert [n for stage, n in seen if stage == "last"] == list(range(6))
    # Two 100 ms stages over 6 batches: ~0.7 s overlapped, 1.2 s one after the other.
    assert elapsed < 1.0


def test_an_error_in_a_stage_stops_the_reading_and_is_raised() -> None:
    read: list[int] = []
    written: list[int] = []

    def source() -> object:
        for n in range(1000):
            read.append(n)
            yield n

    def fail_on_three(n: int) -> int:
        if n == 3:
            raise RuntimeError("model failed")
        return n

    def write(n: int) -> int:
        written.append(n)
        return n

    with pytest.raises(RuntimeError, match="model failed"):
        overlapped(source(), [fail_on_three, write])  # type: ignore[arg-type]
    assert written == [0, 1, 2]
    assert len(read) < 20  # bounded queues: the reader stopped soon after


def rows(n: int, start: int = 0) -> list[RawRow]:
    return [
        RawRow(
            "t.jsonl",
            i + 1,
            {"kind": "actor", "id": f"a{i}", "name": f"Yhdistys {i}", "description": f"Kuvaus {i}"},
        )
        for i in range(start, start + n)
    ]


def test_a_key_again_in_a_later_batch_is_an_update(make_container: ContainerFactory) -> None:
    box = make_container()
    box.ingestor.settings = replace(box.ingestor.settings, batch_size=2)
    again = RawRow("t.jsonl", 9, {"kind": "actor", "id": "a0", "name": "Uusi", "description": "X"})
    same = rows(1)[0]
    # Batches: [a0 a1] [a2 a3] [a0' a4] [a0]; the later ones are read before the first lands.
    report = box.ingestor.ingest([*rows(4), again, *rows(1, start=4), same])
    # a0 added, then changed (an update), then back to its first content (another update).
    assert (report.read, report.added, report.updated, report.unchanged) == (7, 5, 2, 0)
    assert box.index.get(["actor:a0"])["actor:a0"]["record"]["name"] == "Yhdistys 0"


def test_observer_sees_progress_and_cancel_stops_reading(
    tmp_path: Path, make_container: ContainerFactory
) -> None:
    box = make_container()
    box.ingestor.settings = replace(box.ingestor.settings, batch_size=5)
    cancel = threading.Event()
    seen: list[tuple[int, int, int]] = []

    def observe(report: IngestReport) -> None:
        seen.append((report.read, report.embedded, report.added))
        if report.added >= 10:
            cancel.set()

    report = box.ingestor.ingest(rows(100), observe=observe, cancel=cancel)
    assert 10 <= report.added < 100
    assert report.read < 100 and report.added <= report.read
    # Whatever was read and valid landed; nothing else.
    assert box.index.count(SearchFilter()) == report.added
    assert seen[-1] == (report.read, report.embedded, report.added)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))  # rows read only grow
