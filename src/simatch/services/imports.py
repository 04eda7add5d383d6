"""Importing whole files of records (JSONL, CSV), streamed: bad rows are reported, good rows
land, and re-importing an unchanged file changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO

from simatch.ingest.demo import demo_rows
from simatch.ingest.pipeline import Ingestor
from simatch.ingest.readers import Format, RawRow, read_path, read_stream
from simatch.ingest.report import IngestReport

Progress = Callable[[int], None]


class ImportService:
    def __init__(self, ingestor: Ingestor, indexes_dir: Path) -> None:
        self.ingestor = ingestor
        self.indexes_dir = indexes_dir  # the bundled demo data is under demo/

    def import_stream(self, stream: IO[bytes], source: str, fmt: Format) -> IngestReport:
        """Rows are read while the stream arrives (an upload need not be whole first)."""
        return self.ingestor.ingest(read_stream(stream, source, fmt))

    def import_paths(self, paths: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        report = IngestReport()
        for path in paths:
            report.merge(self.ingestor.ingest(read_path(path), progress))
        return report

    def import_rows(self, rows: Iterable[RawRow]) -> IngestReport:
        return self.ingestor.ingest(rows)

    def load_demo(self) -> IngestReport:
        """The bundled demo data, with deadlines relative to today."""
        return self.ingestor.ingest(demo_rows(self.indexes_dir))


__all__ = ["Format", "ImportService", "Progress"]
