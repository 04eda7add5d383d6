"""Imports the staff console starts: a file is staged (kept under the data directory), its
preview shown, and on confirmation imported in a background thread, so that the import goes
on when the browser closes and its progress and report can be read at any time.

The import goes through ``ImportService`` like any other (validation, content-hash skip,
embedding cache, duplicate flags, an audit entry with the counts). A run's state is kept in
this process's memory. Re-running a file that was interrupted (the
server stopped) is safe: records are upserts by key and unchanged ones are skipped.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from simatch.domain.audit import Actor
from simatch.errors import NotFound
from simatch.ingest.readers import Format, RawRow, detect_format, read_stream
from simatch.ingest.report import IngestReport
from simatch.services.import_preview import ImportPreview, ImportPreviewer
from simatch.services.imports import ImportService

log = logging.getLogger(__name__)
State = Literal["staged", "running", "done", "failed"]
KEEP = 50  # finished runs remembered


@dataclass
class ImportRun:
    id: str
    source: str  # the file's name, as the report names it
    fmt: Format
    path: Path
    preview: ImportPreview
    who: str
    state: State = "staged"
    done_rows: int = 0
    report: IngestReport | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return self.preview.read

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, int(100 * self.done_rows / self.total)) if self.total else 0


class ImportRuns:
    def __init__(
        self,
        imports: ImportService,
        previewer: ImportPreviewer,
        staging: Path,
    ) -> None:
        self.imports = imports
        self.previewer = previewer
        self.staging = staging
        self._runs: dict[str, ImportRun] = {}
        self._lock = threading.Lock()

    def stage(self, upload: IO[bytes], filename: str, who: str) -> ImportRun:
        """Keep the uploaded file and compute its preview; nothing is written to the index."""
        self.staging.mkdir(parents=True, exist_ok=True)
        run_id = secrets.token_hex(8)
        name = Path(filename).name or "upload"
        path = self.staging / f"{run_id}-{name}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload, out, 1 << 20)
        with path.open("rb") as handle:
            fmt = detect_format(name, handle.read(64))
        preview = self.previewer.preview(self._rows(path, name, fmt), name)
        run = ImportRun(run_id, name, fmt, path, preview, who)
        with self._lock:
            self._runs[run_id] = run
            self._forget_old()
        return run

    def get(self, run_id: str) -> ImportRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise NotFound(f"no import {run_id!r}")
        return run

    def recent(self) -> list[ImportRun]:
        with self._lock:
            runs = list(self._runs.values())
        return sorted(runs, key=lambda r: -(r.started or 0.0))

    def discard(self, run_id: str) -> None:
        run = self.get(run_id)
        if run.state == "staged":
            with self._lock:
                self._runs.pop(run_id, None)
            run.path.unlink(missing_ok=True)

    def start(self, run_id: str, actor: Actor) -> ImportRun:
        """Import a staged file in the background (a second start does nothing)."""
        run = self.get(run_id)
        with run._lock:
            if run.state != "staged":
                return run
            run.state, run.started = "running", time.time()
        threading.Thread(
            target=self._run, args=(run, actor), name=f"import-{run_id}", daemon=True
        ).start()
        return run

    def _run(self, run: ImportRun, actor: Actor) -> None:
        try:
            target = f"file:{run.source}"
            run.report = self.imports.import_rows(self._counted(run), target, actor)
            run.state = "done"
        except Exception as exc:  # the run reports it; the rows before it landed
            log.exception("import %s failed", run.id)
            run.error = f"{type(exc).__name__}: {exc}"
            run.state = "failed"
        finally:
            run.finished = time.time()
            run.path.unlink(missing_ok=True)

    def _counted(self, run: ImportRun) -> Iterator[RawRow]:
        for row in self._rows(run.path, run.source, run.fmt):
            yield row
            run.done_rows += 1

    @staticmethod
    def _rows(path: Path, source: str, fmt: Format) -> Iterator[RawRow]:
        with path.open("rb") as handle:
            yield from read_stream(handle, source, fmt)

    def _forget_old(self) -> None:
        finished = [r for r in self._runs.values() if r.state in ("done", "failed")]
        for run in sorted(finished, key=lambda r: r.finished or 0.0)[:-KEEP]:
            self._runs.pop(run.id, None)
        staged = [r for r in self._runs.values() if r.state == "staged"]
        for run in staged[:-KEEP]:
            self._runs.pop(run.id, None)
            run.path.unlink(missing_ok=True)
