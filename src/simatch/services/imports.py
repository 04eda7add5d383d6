"""Importing whole files of records (JSONL, CSV), streamed: bad rows are reported, good rows
land, and re-importing an unchanged file changes nothing. Each file imported is written to
the audit trail (who, which file, the counts).

One import writes at a time: background jobs take the ``import`` lock (``ExclusiveWork``:
every process on the machine, or every replica on PostgreSQL) while they write, and so do
the foreground imports of the command line (``import_paths``, ``load_demo``), which are
refused while a job writes instead of interleaving their batches with it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from simatch.domain.audit import CLI_ACTOR, Actor, AuditLog
from simatch.domain.stores import ExclusiveWork
from simatch.errors import Conflict
from simatch.ingest.demo import demo_rows
from simatch.ingest.pipeline import Ingestor, Observer
from simatch.ingest.readers import Format, RawRow, read_path, read_stream
from simatch.ingest.report import IngestReport

Progress = Callable[[int], None]
IMPORT_LOCK = "import"  # held by whatever import writes (services.import_jobs too)


class ImportService:
    def __init__(
        self,
        ingestor: Ingestor,
        indexes_dir: Path,
        audit: AuditLog | None = None,
        locks: ExclusiveWork | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.indexes_dir = indexes_dir  # the bundled demo data is under demo/
        self.audit = audit
        self.locks = locks  # where the foreground imports take the ``import`` lock

    @contextmanager
    def _foreground(self) -> Iterator[None]:
        """The ``import`` lock for a foreground import; Conflict while a job writes."""
        if self.locks is None:
            yield
            return
        with self.locks.exclusive(IMPORT_LOCK) as taken:
            if not taken:
                raise Conflict(
                    "a background import (or an index rebuild) is writing to the index; "
                    "run this again when it has finished (GET /v1/imports, or the console's "
                    "import page, shows it)"
                )
            yield

    def import_stream(
        self, stream: IO[bytes], source: str, fmt: Format, actor: Actor = CLI_ACTOR
    ) -> IngestReport:
        """Rows are read while the stream arrives (an upload need not be whole first)."""
        report = self.ingestor.ingest(read_stream(stream, source, fmt))
        return self._audited(report, f"file:{source}", actor)

    def import_file(
        self,
        path: Path,
        source: str,
        fmt: Format,
        observe: Observer | None = None,
        cancel: threading.Event | None = None,
        actor: Actor = CLI_ACTOR,
    ) -> IngestReport:
        """A file on disk named ``source`` in the report (a background job's upload)."""
        with path.open("rb") as handle:
            report = self.ingestor.ingest(
                read_stream(handle, source, fmt), observe=observe, cancel=cancel
            )
        return self._audited(report, f"file:{source}", actor)

    def import_paths(
        self, paths: Sequence[Path], progress: Progress | None = None, actor: Actor = CLI_ACTOR
    ) -> IngestReport:
        """Files from the command line, refused while a background import writes."""
        report = IngestReport()
        with self._foreground():
            for path in paths:
                one = self.ingestor.ingest(read_path(path), progress)
                report.merge(self._audited(one, f"file:{path.name}", actor))
        return report

    def import_rows(
        self, rows: Iterable[RawRow], target: str | None = None, actor: Actor | None = None
    ) -> IngestReport:
        """With ``target`` (``file:NAME``, ``source:NAME``) and ``actor`` it is audited."""
        report = self.ingestor.ingest(rows)
        if target is not None and actor is not None:
            self._audited(report, target, actor)
        return report

    def load_demo(self) -> IngestReport:
        """The bundled demo data, with deadlines relative to today (refused while a
        background import writes)."""
        with self._foreground():
            return self.ingestor.ingest(demo_rows(self.indexes_dir))

    def _audited(self, report: IngestReport, target: str, actor: Actor) -> IngestReport:
        if self.audit is not None and report.read:
            summary = {
                "read": report.read, "added": report.added, "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len({(r.source, r.line) for r in report.rejected}),  # rows
                "duplicates": len(report.duplicates),
            }  # fmt: skip
            self.audit.append(actor, "import", target, None, summary)
        return report


__all__ = ["Format", "ImportService", "Progress"]
