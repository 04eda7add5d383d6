"""Imports as background jobs: the upload is kept on disk, a job is queued and answered at
once, and one worker thread per process runs the jobs one after another (one import writes
at a time, while matches keep being answered). Every transport uses the same jobs: the HTTP
API (``/v1/imports``) and the staff console.

    service.start()                                   # once, when the server starts
    job = service.submit_stream(stream, "a.jsonl", "jsonl")   # or: upload_path() + submit()
    service.get(job.id).progress                      # rows read / embedded / indexed ...
    service.cancel(job.id); service.retry(job.id)
    service.preview(stream, "a.jsonl", "jsonl")       # what the first rows would become
    service.stop()                                    # when it stops

A job records its progress after every batch it wrote, so what it says was indexed was
indexed. When the process dies mid-import, the next start on this machine marks the job
``failed`` with those counts; re-running it (``retry``, or importing the file again) skips
what already landed by the records' content hashes and finishes the rest.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from simatch.domain.audit import Actor
from simatch.domain.imports import ImportJob, ImportJobStore
from simatch.domain.records import BaseRecord
from simatch.errors import Conflict, NotFound
from simatch.ingest.readers import Format, read_stream
from simatch.ingest.report import (
    IngestReport,
    Rejection,
    report_progress,
    report_summary,
)
from simatch.services.imports import ImportService

log = logging.getLogger(__name__)

JOB_ACTOR = Actor(name="import job", via="api")  # a job whose submitter is not known here
PROGRESS_INTERVAL_S = 0.5  # at most this often a running job writes its progress


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as they would be imported; nothing is written."""

    read: int
    records: list[dict[str, Any]] = field(default_factory=list)  # the valid ones, parsed
    rejected: list[Rejection] = field(default_factory=list)


class ImportJobService:
    def __init__(
        self,
        imports: ImportService,
        store: ImportJobStore,
        uploads_dir: Path,
        worker: str | None = None,
    ) -> None:
        """``uploads_dir``: where uploads wait for their job (kept after a job failed, so
        that it can be retried); ``worker`` names this process in the jobs it runs."""
        self.imports = imports
        self.store = store
        self.uploads_dir = uploads_dir
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cancel: dict[str, threading.Event] = {}
        self._actors: dict[str, Actor] = {}  # who submitted the jobs queued here
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> list[ImportJob]:
        """Fail the jobs a dead process left unfinished, and start the worker. Returns the
        jobs it marked failed."""
        recovered = self.recover()
        self._ensure_worker()
        return recovered

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stopping.clear()
                self._thread = threading.Thread(target=self._work, name="import-jobs", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the running job's batches in flight are written; that job ends
        ``failed`` (interrupted, re-runnable), queued ones are failed the same way at the
        next start."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        for event in list(self._cancel.values()):
            event.set()
        self._queue.put(None)
        thread.join(timeout)

    def recover(self) -> list[ImportJob]:
        """Jobs left queued or running by a process of this machine that no longer runs
        become ``failed``, with the progress they had recorded (what was committed)."""
        host = socket.gethostname()
        failed = []
        for job in self.store.unfinished():
            owner_host, _, pid = (job.worker or "").rpartition(":")
            if owner_host != host or (pid.isdigit() and _alive(int(pid))):
                continue  # another machine's job, or a live process's
            indexed = job.progress.get("added", 0) + job.progress.get("updated", 0)
            message = (
                f"interrupted: the server stopped during the import, after {indexed} "
                "records were indexed; retry it (or import the file again): records already "
                "indexed are skipped"
            )
            done = self.store.finish(job.id, "failed", job.progress, job.report, message)
            if done is not None:
                log.warning("import job %s: %s", job.id, message)
                failed.append(done)
        return failed

    # -- submitting --------------------------------------------------------------------------

    def upload_path(self) -> Path:
        """A new file under the uploads directory for an upload to be written to."""
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        return self.uploads_dir / f"{uuid.uuid4().hex}.upload"

    def submit(
        self, upload: Path, source: str, fmt: Format, actor: Actor | None = None
    ) -> ImportJob:
        """Queue a job for a file already in ``upload_path()``; the job owns it from now.
        ``actor`` (who asked) is written to the audit trail with the import's counts."""
        job = self.store.create(uuid.uuid4().hex, source, fmt, str(upload), self.worker)
        self._actors[job.id] = actor or JOB_ACTOR
        self._queue.put(job.id)
        self._ensure_worker()
        return job

    def submit_stream(
        self, stream: IO[bytes], source: str, fmt: Format, actor: Actor | None = None
    ) -> ImportJob:
        """Copy ``stream`` to disk and queue a job for it."""
        path = self.upload_path()
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        return self.submit(path, source, fmt, actor)

    def retry(self, job_id: str, actor: Actor | None = None) -> ImportJob:
        """A new job on a finished job's upload (kept unless the job succeeded)."""
        old = self.get(job_id)
        if not old.finished:
            raise Conflict(f"import {job_id} has not finished", {"id": job_id, "state": old.state})
        if old.state == "succeeded" or not Path(old.upload).is_file():
            raise Conflict(
                f"import {job_id}'s file is no longer kept; import the file again",
                {"id": job_id, "state": old.state},
            )
        fmt: Format = "csv" if old.format == "csv" else "jsonl"
        return self.submit(Path(old.upload), old.source, fmt, actor)

    def preview(self, stream: IO[bytes], source: str, fmt: Format, rows: int = 20) -> Preview:
        """Validate the first ``rows`` rows of a file (the staff console shows them before
        starting the job); nothing is written."""
        records: list[BaseRecord] = []
        rejected: list[Rejection] = []
        read = 0
        for row in read_stream(stream, source, fmt):
            if read >= rows:
                break
            read += 1
            record, problems = self.imports.ingestor.validate(row)
            rejected.extend(problems)
            if record is not None:
                records.append(record)
        return Preview(read, [r.model_dump(mode="json") for r in records], rejected)

    # -- reading and cancelling --------------------------------------------------------------

    def get(self, job_id: str) -> ImportJob:
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"no import with id {job_id!r}", {"id": job_id})
        return job

    def list(self, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        """Newest first."""
        return self.store.list(limit, offset)

    def cancel(self, job_id: str) -> ImportJob:
        """A queued job is cancelled at once; a running one stops reading and ends
        ``cancelled`` once the batches in flight are written (what landed stays)."""
        self.get(job_id)
        job = self.store.request_cancel(job_id)
        event = self._cancel.get(job_id)
        if event is not None:
            event.set()
        assert job is not None
        return job

    def wait(self, job_id: str, timeout: float = 60.0) -> ImportJob:
        """The job once finished (or as it is after ``timeout``): for tests and the CLI."""
        deadline = time.monotonic() + timeout
        job = self.get(job_id)
        while not job.finished and time.monotonic() < deadline:
            time.sleep(0.05)
            job = self.get(job_id)
        return job

    # -- the worker --------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except Exception:  # a broken job must not stop the worker
                log.exception("import job %s failed outside the import", job_id)

    def _run(self, job_id: str) -> None:
        job = self.store.start(job_id)
        if job is None:
            return  # cancelled while queued
        cancel = self._cancel[job_id] = threading.Event()
        last = 0.0

        def observe(report: IngestReport) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < PROGRESS_INTERVAL_S:
                return
            last = now
            if self.store.progress(job_id, report_progress(report), report_summary(report)):
                cancel.set()

        fmt: Format = "csv" if job.format == "csv" else "jsonl"
        started = time.perf_counter()
        report: IngestReport | None = None
        try:
            report = self.imports.import_file(
                Path(job.upload),
                job.source,
                fmt,
                observe=observe,
                cancel=cancel,
                actor=self._actors.pop(job_id, JOB_ACTOR),
            )
        except Exception as exc:
            log.exception("import job %s failed", job_id)
            latest = self.store.get(job_id)
            progress = latest.progress if latest else {}
            self.store.finish(
                job_id, "failed", progress, latest.report if latest else None, str(exc)
            )
            return
        finally:
            self._cancel.pop(job_id, None)
        report.seconds = time.perf_counter() - started
        summary = report_summary(report)
        progress = report_progress(report)
        if self._stopping.is_set():
            self.store.finish(
                job_id, "failed", progress, summary, "interrupted: the server stopped; retry it"
            )
        elif cancel.is_set():
            self.store.finish(job_id, "cancelled", progress, summary)
        else:
            self.store.finish(job_id, "succeeded", progress, summary)
            Path(job.upload).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
