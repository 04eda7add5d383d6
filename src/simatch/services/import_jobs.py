"""Imports as background jobs: the upload is kept (on disk, or in the database replicas
share), a job is queued and answered at once, and one worker thread per process runs the
jobs one after another (one import writes at a time, while matches keep being answered).
Every transport uses the same jobs: the HTTP API (``/v1/imports``) and the staff console.

    service.start()                                   # once, when the server starts
    job = service.submit_stream(stream, "a.jsonl", "jsonl")   # or: upload_path() + submit()
    service.get(job.id).progress                      # rows read / embedded / indexed ...
    service.cancel(job.id); service.retry(job.id)
    job = service.stage(upload, "a.jsonl", actor)     # the console: kept, job.preview shown,
    service.confirm(job.id)                           # then queued (or cancel() drops it)
    service.stop()                                    # when it stops

Uploads are kept while they may still be needed: until the job succeeded, or, for a failed or
cancelled job (to be retried) and a staged one nobody confirmed, for ``keep_uploads``; then
``clean_uploads`` drops them (a staged job is cancelled), at start, when a file is staged and
after each job.

A job records its progress after every batch it wrote, so what it says was indexed was
indexed. One import writes at a time across every process sharing the state (the
``ExclusiveWork`` lock ``import``: an advisory lock on PostgreSQL, a file lock on one machine).

Where the process dies mid-import depends on the store:
- one machine (SQLite): the next start marks the job ``failed`` with those counts;
  re-running it (``retry``, or importing the file again) skips what already landed by the
  records' content hashes and finishes the rest;
- replicas (``SharedImportJobs``, PostgreSQL): any replica's worker claims queued jobs with a
  lease it extends while it runs; once a dead replica's lease runs out another replica claims
  the job and runs it again from the start, which finishes it (the same content-hash skip).
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO

from simatch.domain.audit import Actor
from simatch.domain.imports import ImportJob, ImportJobStore, SharedImportJobs
from simatch.domain.stores import ExclusiveWork
from simatch.errors import Conflict, NotFound
from simatch.ingest.readers import Format, detect_format, read_stream
from simatch.ingest.report import IngestReport, report_progress, report_summary
from simatch.services.background import lower_this_thread
from simatch.services.import_preview import ImportPreview, ImportPreviewer, preview_summary
from simatch.services.imports import IMPORT_LOCK, ImportService

log = logging.getLogger(__name__)

JOB_ACTOR = Actor(name="import job", via="api")  # a job whose submitter is not known here
PROGRESS_INTERVAL_S = 0.5  # at most this often a running job writes its progress
LOCK = IMPORT_LOCK  # the ExclusiveWork lock held while a job writes
MAX_RUNS = 3  # a shared job claimed more often than this (its replicas died) fails
LOCK_POLL_S = 0.5  # how often a worker waiting for the import lock tries it again
POLL_S = 5.0  # a shared store's worker looks for jobs queued elsewhere this often (at most)


class ImportJobService:
    def __init__(
        self,
        imports: ImportService,
        store: ImportJobStore,
        uploads_dir: Path,
        worker: str | None = None,
        *,
        previewer: ImportPreviewer,
        locks: ExclusiveWork | None = None,
        lease_seconds: float = 60.0,
        keep_uploads: timedelta | None = timedelta(days=7),
    ) -> None:
        """``uploads_dir``: where uploads wait for their job (kept after a job failed, so
        that it can be retried); ``worker`` names this process in the jobs it runs;
        ``locks``: where the ``import`` lock is taken (none: this process only);
        ``lease_seconds``: how long a shared job stays this worker's without a sign of life;
        ``keep_uploads``: how long the upload of a failed, cancelled or staged job is kept
        (None: for ever)."""
        self.keep_uploads = keep_uploads
        self.imports = imports
        self.previewer = previewer
        self.store = store
        self.shared = store if isinstance(store, SharedImportJobs) else None
        self.uploads_dir = uploads_dir
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.locks = locks
        self.lease_seconds = lease_seconds
        self._wake = threading.Event()  # a job was submitted here
        self._lease_lost: set[str] = set()  # jobs another worker took over from this one
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cancel: dict[str, threading.Event] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> list[ImportJob]:
        """Fail the jobs a dead process left unfinished (one machine; on a shared store
        another worker takes them over instead), and start the worker. Returns the jobs it
        marked failed."""
        recovered = self.recover() if self.shared is None else []
        self._clean_quietly()
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
        next start. On a shared store the job is handed back instead (its lease ends now)
        and another replica runs it; queued ones wait for any replica."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        for event in list(self._cancel.values()):
            event.set()
        self._queue.put(None)
        self._wake.set()
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

    def clean_uploads(self, now: datetime | None = None) -> int:
        """Drop the uploads kept longer than ``keep_uploads``: a failed or cancelled job's
        (it can no longer be retried), a staged job's (the job is cancelled), and files in
        the uploads directory that no job names (written by a process that died before it
        queued them). Returns how many were dropped."""
        if self.keep_uploads is None:
            return 0
        cutoff = (now or datetime.now(UTC)) - self.keep_uploads
        dropped = 0
        named: set[str] = set()
        offset, page_size = 0, 200
        while True:
            page = self.store.list(page_size, offset)
            for job in page:
                named.add(Path(job.upload).name)
                if job.state == "staged" and job.created_at < cutoff:
                    try:
                        self.cancel(job.id)  # drops its upload
                    except (Conflict, NotFound):  # confirmed or cancelled meanwhile
                        continue
                    dropped += 1
                elif (
                    job.finished
                    and job.state != "succeeded"
                    and (job.finished_at or job.created_at) < cutoff
                    and self._has_upload(job)
                ):
                    self._drop_upload(job)
                    dropped += 1
            if len(page) < page_size:
                break
            offset += page_size
        if self.uploads_dir.is_dir():
            for path in self.uploads_dir.iterdir():
                try:
                    stale = datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff
                except FileNotFoundError:  # a job finished and dropped it since the listing
                    continue
                if path.is_file() and path.name not in named and stale:
                    path.unlink(missing_ok=True)
                    dropped += 1
        if dropped:
            log.info("import uploads: %d kept longer than %s dropped", dropped, self.keep_uploads)
        return dropped

    def _clean_quietly(self) -> None:
        try:
            self.clean_uploads()
        except Exception:  # cleaning must never stop imports
            log.exception("import uploads: cleaning failed; tried again later")

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
        job = self.store.create(uuid.uuid4().hex, source, fmt, str(upload), self.worker, actor)
        if self.shared is None:
            self._queue.put(job.id)
        else:  # the store keeps the bytes; whichever replica runs the job fetches them
            upload.unlink(missing_ok=True)
        self._wake.set()
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
        if old.state == "succeeded" or not self._has_upload(old):
            raise Conflict(
                f"import {job_id}'s file is no longer kept; import the file again",
                {"id": job_id, "state": old.state},
            )
        fmt: Format = "csv" if old.format == "csv" else "jsonl"
        return self.submit(Path(old.upload), old.source, fmt, actor)

    def stage(self, stream: IO[bytes], filename: str, actor: Actor | None = None) -> ImportJob:
        """Keep an upload with what importing it would do (``preview``), as a ``staged`` job
        that is not run until ``confirm``ed (or ``cancel`` drops it): the staff console
        shows the preview first. The format is told by the name and the first bytes."""
        path = self.upload_path()
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        name = Path(filename).name or "upload"
        with path.open("rb") as handle:
            fmt = detect_format(name, handle.read(64))
        summary = preview_summary(self.preview(path, name, fmt))
        job = self.store.create(
            uuid.uuid4().hex, name, fmt, str(path), self.worker, actor, preview=summary
        )
        if self.shared is not None:  # the store keeps the bytes for every replica
            path.unlink(missing_ok=True)
        self._clean_quietly()  # files staged long ago and never confirmed go now
        return job

    def confirm(self, job_id: str) -> ImportJob:
        """Queue a staged job (a second confirmation changes nothing)."""
        job = self.store.queue(job_id)
        if job is None:
            return self.get(job_id)
        if self.shared is None:
            self._queue.put(job.id)
        self._wake.set()
        self._ensure_worker()
        return job

    def preview(self, upload: Path, source: str, fmt: Format) -> ImportPreview:
        """What importing the file would do: rows new, changed, unchanged and rejected, and
        suspected duplicates; nothing is written."""
        with upload.open("rb") as handle:
            return self.previewer.preview(read_stream(handle, source, fmt), source)

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
        """A staged or queued job is cancelled at once (a staged one's upload is dropped:
        nothing of it was imported); a running one stops reading and ends ``cancelled`` once
        the batches in flight are written (what landed stays)."""
        before = self.get(job_id)
        job = self.store.request_cancel(job_id)
        if before.state == "staged":
            self._drop_upload(before)
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
        # Matches first: the import (and the threads it starts) gets the cores they leave.
        lower_this_thread()
        while not self._stopping.is_set():
            if self.shared is None:
                job_id = self._queue.get()
                if job_id is None:
                    return
                ran = self._guarded(job_id, partial(self._run_local, job_id))
            else:
                self._wake.clear()
                ran = self._guarded(None, self._run_shared)
            if not ran:
                self._wake.wait(min(POLL_S, self.lease_seconds / 2))

    def _guarded(self, job_id: str | None, run: Callable[[], bool]) -> bool:
        try:
            return run()
        except Exception:  # a broken job (or an unreachable store) must not stop the worker
            log.exception("import job %s failed outside the import", job_id or "(claiming)")
            return False

    @contextmanager
    def _writer(self) -> Iterator[bool]:
        """The ``import`` lock, once the last job of another process let go of it."""
        if self.locks is None:
            yield True
            return
        while not self._stopping.is_set():
            with self.locks.exclusive(LOCK) as taken:
                if taken:
                    yield True
                    return
            self._stopping.wait(LOCK_POLL_S)  # another process's job writes meanwhile
        yield False

    def _run_local(self, job_id: str) -> bool:
        with self._writer() as writing:
            if not writing:
                return True  # stopping; the job is failed at the next start
            job = self.store.start(job_id)
            if job is not None:  # else cancelled while queued
                self._run(job, threading.Event())
        return True

    def _run_shared(self) -> bool:
        """Claim the next job of any replica and run it, holding its lease meanwhile."""
        assert self.shared is not None
        with self._writer() as writing:
            job = self.shared.claim(self.worker, self.lease_seconds) if writing else None
            if job is None:
                return False
            if job.cancel_requested:  # asked while its dead worker held it
                self.store.finish(job.id, "cancelled", job.progress, job.report, None, self.worker)
                return True
            if job.attempts > MAX_RUNS:
                message = (
                    f"interrupted {job.attempts - 1} times: the servers running it stopped; "
                    "retry it (records already indexed are skipped)"
                )
                self.store.finish(job.id, "failed", job.progress, job.report, message, self.worker)
                return True
            if job.attempts > 1:
                log.warning("import job %s: taken over (run %d)", job.id, job.attempts)
            lost = threading.Event()
            beating = threading.Thread(
                target=self._heartbeat, args=(job.id, lost), name="import-lease", daemon=True
            )
            beating.start()
            try:
                self._run(job, lost)
            finally:
                lost.set()  # ends the heartbeat too
                beating.join()
        return True

    def _heartbeat(self, job_id: str, lost: threading.Event) -> None:
        """Extend the lease until the job ends (``lost`` set by the runner) or the lease is
        lost (another worker took the job: ``lost`` set here, the import stops)."""
        assert self.shared is not None
        while not lost.wait(self.lease_seconds / 3):
            try:
                if not self.shared.extend(job_id, self.worker, self.lease_seconds):
                    log.warning("import job %s: lease lost; another worker runs it", job_id)
                    self._lease_lost.add(job_id)
                    lost.set()
                    cancel = self._cancel.get(job_id)
                    if cancel is not None:
                        cancel.set()
            except Exception as exc:  # the store is down for now: try again next beat
                log.warning("import job %s: lease not extended (%s)", job_id, exc)

    def _run(self, job: ImportJob, lost: threading.Event) -> None:
        job_id = job.id
        cancel = self._cancel[job_id] = threading.Event()
        if lost.is_set():
            cancel.set()
        worker = self.worker if self.shared is not None else None
        last = 0.0

        def observe(report: IngestReport) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last < PROGRESS_INTERVAL_S:
                return
            last = now
            summary = report_summary(report)
            if self.store.progress(job_id, report_progress(report), summary, worker):
                cancel.set()

        fmt: Format = "csv" if job.format == "csv" else "jsonl"
        started = time.perf_counter()
        report: IngestReport | None = None
        upload: Path | None = None
        try:
            upload = self._local_upload(job)
            if upload is None:
                self.store.finish(
                    job_id, "failed", job.progress, job.report,
                    "the uploaded file is no longer kept; import the file again", worker,
                )  # fmt: skip
                return
            report = self.imports.import_file(
                upload,
                job.source,
                fmt,
                observe=observe,
                cancel=cancel,
                actor=job.submitted_by or JOB_ACTOR,
            )
        except Exception as exc:
            log.exception("import job %s failed", job_id)
            latest = self.store.get(job_id)
            progress = latest.progress if latest else {}
            self.store.finish(
                job_id, "failed", progress, latest.report if latest else None, str(exc), worker
            )
            return
        finally:
            self._cancel.pop(job_id, None)
            if self.shared is not None and upload is not None:
                upload.unlink(missing_ok=True)  # a copy for this run; the store keeps it
        report.seconds = time.perf_counter() - started
        summary = report_summary(report)
        progress = report_progress(report)
        if job_id in self._lease_lost:
            self._lease_lost.discard(job_id)  # the other worker finishes it
        elif self.shared is not None and self._stopping.is_set():
            # Let go of the lease at once: another replica (or this one, restarted) runs it.
            self.shared.extend(job_id, self.worker, 0.0)
        elif self._stopping.is_set():
            message = "interrupted: the server stopped; retry it"
            self.store.finish(job_id, "failed", progress, summary, message)
        elif cancel.is_set():
            self.store.finish(job_id, "cancelled", progress, summary, None, worker)
        elif self.store.finish(job_id, "succeeded", progress, summary, None, worker) is not None:
            self._drop_upload(job)
        self._clean_quietly()

    def _local_upload(self, job: ImportJob) -> Path | None:
        """The job's upload on this machine's disk: where it was written (one machine), or
        fetched from the shared store into the uploads directory for this run."""
        path = Path(job.upload)
        if path.is_file() or self.shared is None:
            return path if path.is_file() else None
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        local = self.uploads_dir / path.name
        fetching = local.with_suffix(".part")
        with fetching.open("wb") as out:
            found = self.shared.fetch_upload(job.upload, out)
        if not found:
            fetching.unlink(missing_ok=True)
            return None
        fetching.replace(local)
        return local

    def _drop_upload(self, job: ImportJob) -> None:
        Path(job.upload).unlink(missing_ok=True)
        if self.shared is not None:
            self.shared.drop_upload(job.upload)

    def _has_upload(self, job: ImportJob) -> bool:
        if Path(job.upload).is_file():
            return True
        return self.shared is not None and self.shared.has_upload(job.upload)


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
