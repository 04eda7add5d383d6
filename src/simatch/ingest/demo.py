"""The bundled demo data: calls carry deadlines relative to the import day, so they stay open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import date, timedelta
from pathlib import Path

from simatch.ingest.readers import RawRow, read_path

_OFFSETS = {"deadline_offset_days": "deadline", "opens_at_offset_days": "opens_at"}


def demo_files(indexes_dir: Path) -> list[Path]:
    return sorted((indexes_dir / "demo").glob("*.jsonl"))


def with_dates(row: RawRow, today: date) -> RawRow:
    """Turn ``deadline_offset_days: 45`` into ``deadline: <today + 45 days>``."""
    if row.data is None:
        return row
    data = dict(row.data)
    for offset_field, date_field in _OFFSETS.items():
        if offset_field in data and date_field not in data:
            # A bad offset is left out; validation then reports the missing date.
            with suppress(TypeError, ValueError):
                data[date_field] = (today + timedelta(days=int(data.pop(offset_field)))).isoformat()
    return RawRow(row.source, row.line, data)


def demo_rows(indexes_dir: Path, today: date | None = None) -> Iterator[RawRow]:
    day = today or date.today()
    for path in demo_files(indexes_dir):
        for row in read_path(path):
            yield with_dates(row, day)
