"""The ImportJobStore contract, on SQLite and PostgreSQL; PostgreSQL's jobs are shared by
replicas (``SharedImportJobs``: uploads kept, claims with a lease, takeover)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from simatch.domain.audit import Actor
from simatch.domain.imports import SharedImportJobs
from simatch.stores.factory import StateBackend, open_import_jobs
from tests.stores.conftest import open_backend


def test_a_job_goes_queued_running_succeeded(backend: StateBackend) -> None:
    store = open_import_jobs(backend)
    job = store.create("a" * 32, "records.jsonl", "jsonl", "/data/uploads/x.upload", "host:1")
    assert (job.state, job.source, job.format, job.worker) == (
        "queued",
        "records.jsonl",
        "jsonl",
        "host:1",
    )
    assert job.created_at.tzinfo is not None and job.started_at is None and not job.finished
    running = store.start(job.id)
    assert running is not None and running.state == "running" and running.started_at is not None
    assert store.start(job.id) is None  # only a queued job starts
    progress = {"read": 10, "embedded": 8, "added": 8, "updated": 0, "unchanged": 2, "rejected": 0}
    assert store.progress(job.id, progress, {"ok": True, "rejected": []}) is False
    seen = store.get(job.id)
    assert (
        seen is not None
        and seen.progress == progress
        and seen.report == {"ok": True, "rejected": []}
    )
    done = store.finish(job.id, "succeeded", progress, {"ok": True})
    assert done is not None and done.state == "succeeded" and done.finished_at is not None
    assert store.finish(job.id, "failed", progress, None, "late") is None  # finished stays
    assert store.get("b" * 32) is None
    store.close()


def test_cancel_queued_at_once_running_by_request(backend: StateBackend) -> None:
    store = open_import_jobs(backend)
    queued = store.create("1" * 32, "a.csv", "csv", "u1", "host:1")
    cancelled = store.request_cancel(queued.id)
    assert cancelled is not None and cancelled.state == "cancelled" and cancelled.finished
    assert store.start(queued.id) is None
    running = store.create("2" * 32, "b.csv", "csv", "u2", "host:1")
    store.start(running.id)
    asked = store.request_cancel(running.id)
    assert asked is not None and asked.state == "running" and asked.cancel_requested
    assert store.progress(running.id, {"read": 1}, {}) is True  # the worker learns of it
    assert store.request_cancel("9" * 32) is None
    store.close()


def test_list_newest_first_and_unfinished_oldest_first(backend: StateBackend) -> None:
    store = open_import_jobs(backend)
    ids = [f"{n:032x}" for n in range(4)]
    for job_id in ids:
        store.create(job_id, f"{job_id}.jsonl", "jsonl", "u", "host:1")
    store.start(ids[1])
    store.finish(ids[2], "failed", {}, None, "broken")
    assert [j.id for j in store.list()] == ids[::-1]
    assert [j.id for j in store.list(limit=2, offset=1)] == [ids[2], ids[1]]
    assert [j.id for j in store.unfinished()] == [ids[0], ids[1], ids[3]]
    failed = store.get(ids[2])
    assert failed is not None and failed.error == "broken" and failed.report is None
    # A second instance on the same backend sees the same jobs (another process, replica).
    other = open_import_jobs(backend)
    assert [j.id for j in other.list()] == ids[::-1]
    other.close()
    store.close()


def test_a_job_names_its_submitter_and_only_its_worker_writes_it(backend: StateBackend) -> None:
    store = open_import_jobs(backend)
    who = Actor("Kaisa", "console", "k1")
    job = store.create("c" * 32, "a.jsonl", "jsonl", "u", "host:1", who)
    assert job.submitted_by == who
    assert store.create("d" * 32, "b.jsonl", "jsonl", "u", "host:1").submitted_by is None
    store.start(job.id)
    # Another worker (a replica that lost the job) writes nothing, and is told to stop.
    assert store.progress(job.id, {"read": 5}, {}, worker="host:2") is True
    assert store.finish(job.id, "succeeded", {"read": 9}, None, worker="host:2") is None
    seen = store.get(job.id)
    assert seen is not None and seen.state == "running" and seen.progress == {}
    assert store.progress(job.id, {"read": 5}, {}, worker="host:1") is False
    done = store.finish(job.id, "succeeded", {"read": 9}, None, worker="host:1")
    assert done is not None and done.progress == {"read": 9} and done.submitted_by == who
    store.close()


@pytest.fixture
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SharedImportJobs]:
    """PostgreSQL's store (SQLite jobs run on the machine that received them)."""
    backend = open_backend("postgresql", tmp_path / "data", request)
    store = open_import_jobs(backend)
    assert isinstance(store, SharedImportJobs)
    yield store
    store.close()
    backend.close()


def test_sqlite_jobs_are_not_shared(tmp_path: Path) -> None:
    store = open_import_jobs(StateBackend(tmp_path))
    assert not isinstance(store, SharedImportJobs)  # restart fails them instead
    store.close()


def test_shared_jobs_keep_the_upload_for_any_replica(
    shared: SharedImportJobs, tmp_path: Path
) -> None:
    upload = tmp_path / "x.upload"
    content = bytes(range(256)) * 9000  # more than one part
    upload.write_bytes(content)
    job = shared.create("e" * 32, "x.jsonl", "jsonl", str(upload), "host:1")
    upload.unlink()  # the replica that received it is gone
    assert shared.has_upload(job.upload)
    out = io.BytesIO()
    assert shared.fetch_upload(job.upload, out) and out.getvalue() == content
    # A retry's job names the same upload: kept once, still there.
    shared.create("f" * 32, "x.jsonl", "jsonl", str(upload), "host:2")
    out = io.BytesIO()
    assert shared.fetch_upload(job.upload, out) and out.getvalue() == content
    shared.drop_upload(job.upload)
    assert not shared.has_upload(job.upload)
    assert not shared.fetch_upload(job.upload, io.BytesIO())


def test_a_claimed_job_is_taken_over_only_after_its_lease(shared: SharedImportJobs) -> None:
    first = shared.create("1" * 32, "a.jsonl", "jsonl", "u1", "host:a")
    second = shared.create("2" * 32, "b.jsonl", "jsonl", "u2", "host:b")
    mine = shared.claim("host:a", lease_seconds=0.6)
    assert mine is not None and mine.id == first.id  # oldest first, any submitter's
    assert (mine.state, mine.worker, mine.attempts) == ("running", "host:a", 1)
    other = shared.claim("host:b", lease_seconds=30)
    assert other is not None and other.id == second.id  # not the held one
    assert shared.claim("host:c", lease_seconds=30) is None
    assert shared.extend(first.id, "host:a", 0.6)
    assert not shared.extend(first.id, "host:c", 30)  # not its job
    time.sleep(0.8)  # host:a stopped extending: it died
    taken = shared.claim("host:c", lease_seconds=30)
    assert taken is not None and taken.id == first.id
    assert (taken.worker, taken.attempts, taken.started_at) == ("host:c", 2, mine.started_at)
    assert not shared.extend(first.id, "host:a", 30)  # the dead one lost it for good
    assert shared.progress(first.id, {"read": 1}, {}, worker="host:a") is True  # stop
    assert shared.finish(first.id, "succeeded", {}, None, worker="host:a") is None
    assert shared.finish(first.id, "succeeded", {}, None, worker="host:c") is not None
    time.sleep(0.1)
    assert shared.claim("host:d", lease_seconds=0.01) is None  # finished, held: nothing
    # A queued job cancelled is never claimed.
    third = shared.create("3" * 32, "c.jsonl", "jsonl", "u3", "host:a")
    shared.request_cancel(third.id)
    assert shared.claim("host:a", 30) is None


def test_two_workers_claiming_at_once_get_different_jobs(shared: SharedImportJobs) -> None:
    for n in range(6):
        shared.create(f"{n:032x}", f"{n}.jsonl", "jsonl", f"u{n}", "host:a")
    with ThreadPoolExecutor(6) as pool:
        claimed = list(pool.map(lambda w: shared.claim(f"w:{w}", 30), range(6)))
    ids = [job.id for job in claimed if job is not None]
    assert sorted(ids) == [f"{n:032x}" for n in range(6)]


def test_a_staged_job_waits_with_its_preview_until_queued(backend: StateBackend) -> None:
    store = open_import_jobs(backend)
    preview = {"read": 3, "new": 2, "rejected": [{"line": 3, "reason": "bad"}]}
    staged = store.create("5" * 32, "a.jsonl", "jsonl", "u", "host:1", preview=preview)
    assert staged.state == "staged" and staged.preview == preview and not staged.finished
    assert store.start(staged.id) is None  # not run before it is confirmed
    assert store.unfinished() == []  # a restart leaves it waiting
    queued = store.queue(staged.id)
    assert queued is not None and queued.state == "queued" and queued.preview == preview
    assert store.queue(staged.id) is None  # once
    other = store.create("6" * 32, "b.jsonl", "jsonl", "u", "host:1", preview={"read": 1})
    dropped = store.request_cancel(other.id)
    assert dropped is not None and dropped.state == "cancelled" and dropped.finished
    assert store.create("7" * 32, "c.jsonl", "jsonl", "u", "host:1").preview is None
    store.close()


def test_a_staged_job_is_not_claimed(shared: SharedImportJobs) -> None:
    staged = shared.create("8" * 32, "a.jsonl", "jsonl", "u", "host:1", preview={"read": 1})
    assert shared.claim("host:2", 30) is None
    shared.queue(staged.id)
    claimed = shared.claim("host:2", 30)
    assert claimed is not None and claimed.id == staged.id
