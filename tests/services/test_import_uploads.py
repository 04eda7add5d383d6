"""Uploads of background imports are not kept for ever (services.import_jobs.clean_uploads):
a staged file nobody confirmed, and the file of a cancelled or failed job, are deleted once
kept longer than ``keep_uploads``; files that no job names, too. Real stores and index, the
fake embedder (nothing is embedded here)."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simatch.errors import Conflict
from simatch.services.import_jobs import ImportJobService
from simatch.services.imports import IMPORT_LOCK
from tests.conftest import ContainerFactory
from tests.ingest.test_pipeline import GOOD

FILE = "".join(json.dumps(row) + "\n" for row in GOOD).encode()


def test_old_uploads_of_unfinished_and_failed_jobs_are_deleted(
    make_container: ContainerFactory,
) -> None:
    box = make_container()
    jobs = box.import_job_service
    assert jobs.locks is not None
    # Another process's import holds the import lock all along: a confirmed job stays queued
    # (confirming starts the worker, which waits for the lock).
    with jobs.locks.exclusive(IMPORT_LOCK) as taken:
        assert taken
        confirmed = jobs.confirm(jobs.stage(io.BytesIO(FILE), "confirmed.jsonl").id)
        cleaned_around_a_queued_job(jobs, confirmed.id)


def cleaned_around_a_queued_job(jobs: ImportJobService, confirmed_id: str) -> None:
    staged = jobs.stage(io.BytesIO(FILE), "staged.jsonl")
    cancelled = jobs.cancel(jobs.submit_stream(io.BytesIO(FILE), "cancelled.jsonl", "jsonl").id)
    assert cancelled.state == "cancelled" and Path(cancelled.upload).is_file()  # for a retry
    orphan_old = jobs.upload_path()
    orphan_old.write_bytes(FILE)
    long_ago = time.time() - 30 * 86400
    os.utime(orphan_old, (long_ago, long_ago))
    orphan_new = jobs.upload_path()
    orphan_new.write_bytes(FILE)  # being written by a submit right now, say

    now = datetime.now(UTC)
    assert jobs.clean_uploads(now + timedelta(days=1)) == 1  # only the old orphan
    assert not orphan_old.exists() and orphan_new.exists()
    assert Path(staged.upload).is_file() and Path(cancelled.upload).is_file()

    # A week later: the staged, the cancelled, and the other orphan by now.
    assert jobs.clean_uploads(now + timedelta(days=8)) == 3
    assert jobs.get(staged.id).state == "cancelled" and not Path(staged.upload).exists()
    assert not Path(cancelled.upload).exists()
    with pytest.raises(Conflict):
        jobs.retry(cancelled.id)  # its file is gone
    queued = jobs.get(confirmed_id)
    assert queued.state == "queued" and Path(queued.upload).is_file()  # waits to run
    assert not orphan_new.exists()
    assert jobs.clean_uploads(now + timedelta(days=8)) == 0  # nothing twice


def test_uploads_are_kept_for_ever_when_configured(make_container: ContainerFactory) -> None:
    box = make_container()
    jobs = box.import_job_service
    jobs.keep_uploads = None
    staged = jobs.stage(io.BytesIO(FILE), "staged.jsonl")
    assert jobs.clean_uploads(datetime.now(UTC) + timedelta(days=365)) == 0
    assert jobs.get(staged.id).state == "staged" and Path(staged.upload).is_file()


def test_a_file_gone_while_cleaning_is_skipped(
    make_container: ContainerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job may drop its upload between the cleaner's listing of the directory and its look
    at the file (seen under the API fuzzer: an error with a traceback in the log)."""
    box = make_container()
    jobs = box.import_job_service
    old = jobs.upload_path()
    old.write_bytes(FILE)
    long_ago = time.time() - 30 * 86400
    os.utime(old, (long_ago, long_ago))
    gone = jobs.upload_path()  # listed, never there
    listing = [gone, old]
    uploads = jobs.uploads_dir
    real_iterdir = Path.iterdir

    def iterdir(self: Path) -> Iterator[Path]:
        return iter(listing) if self == uploads else real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    assert jobs.clean_uploads(datetime.now(UTC) + timedelta(days=1)) == 1
    assert not old.exists()
