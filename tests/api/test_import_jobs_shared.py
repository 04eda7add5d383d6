"""Background imports on PostgreSQL, where replicas share the jobs: a job left by a replica
that died (it stopped extending its lease) is claimed by another and run again from the
start; with the index shared, what the dead one had committed is skipped as unchanged, so
every row is indexed once. (Two real processes: ``tests/replicas``.)"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from simatch.domain.audit import Actor, AuditQuery
from simatch.domain.imports import SharedImportJobs
from simatch.domain.ports import SearchFilter
from simatch.errors import Conflict
from tests.api.conftest import ApiFactory
from tests.api.test_import_jobs import rows

ROWS = 30
COMMITTED = 10


def test_a_dead_replicas_job_is_finished_by_another_and_nothing_twice(
    make_api: ApiFactory, fresh_pg_url: str, tmp_path: Path
) -> None:
    api = make_api(state={"database_url": fresh_pg_url}, ingest={"import_lease": 1.0})
    box = api.box
    store = box.import_jobs
    assert isinstance(store, SharedImportJobs)
    upload = tmp_path / "orgs.upload"
    upload.write_bytes(rows(ROWS))
    staff = Actor("Kaisa", "api", "k1")
    # The other replica: it takes the import lock (this one's worker waits), claims the job,
    # commits the first rows, records its progress, and dies holding the lease.
    with box.locks.exclusive("import", wait=True) as taken:
        assert taken
        job = store.create("d" * 32, "orgs.jsonl", "jsonl", str(upload), "dead:1", staff)
        upload.unlink()  # it was on the dead replica's disk: only the store has it now
        claimed = store.claim("dead:1", lease_seconds=1.0)
        assert claimed is not None and claimed.id == job.id
        first = box.import_service.import_stream(io.BytesIO(rows(COMMITTED)), "orgs.jsonl", "jsonl")
        assert first.added == COMMITTED
        assert not store.progress(job.id, {"read": COMMITTED, "added": COMMITTED}, {}, "dead:1")
        time.sleep(0.3)
        assert box.import_job_service.get(job.id).state == "running"  # still the dead one's
    deadline = time.monotonic() + 30
    while not (done := box.import_job_service.get(job.id)).finished:
        assert time.monotonic() < deadline, done
        time.sleep(0.1)
    assert done.state == "succeeded", done.error
    assert done.worker == box.import_job_service.worker and done.attempts == 2
    assert done.progress["unchanged"] == COMMITTED
    assert done.progress["added"] == ROWS - COMMITTED
    assert done.report is not None and done.report["ok"] is True
    assert box.index.count(SearchFilter(kinds=("actor",))) == ROWS
    assert not store.has_upload(job.upload)  # dropped once it succeeded
    # The dead run audited nothing (it died); the finished run's entry names the submitter.
    entries = box.audit_log.list(AuditQuery(action="import", target="file:orgs.jsonl"))
    assert [(e.who, e.after["added"] if e.after else None) for e in entries] == [
        ("Kaisa", ROWS - COMMITTED),  # newest first
        ("cli", COMMITTED),  # the rows the dead replica had committed, imported above
    ]


def test_a_cancelled_shared_job_is_retried_from_the_kept_upload(
    make_api: ApiFactory, fresh_pg_url: str
) -> None:
    api = make_api(state={"database_url": fresh_pg_url}, ingest={"import_lease": 1.0})
    box, jobs = api.box, api.box.import_job_service
    with box.locks.exclusive("import", wait=True):  # another replica's import writes
        job = jobs.submit_stream(io.BytesIO(rows(5)), "five.jsonl", "jsonl")
        assert not list((box.settings.index.data_dir / "uploads").glob("*.upload"))  # in PG
        assert jobs.cancel(job.id).state == "cancelled"
    again = jobs.retry(job.id)
    done = jobs.wait(again.id, timeout=30)
    assert done.state == "succeeded" and done.progress["added"] == 5, done
    with pytest.raises(Conflict):  # its upload went with the success
        jobs.retry(again.id)
    with pytest.raises(Conflict):
        jobs.retry(job.id)


def test_a_stopping_replica_hands_its_running_job_over_at_once(
    make_api: ApiFactory, fresh_pg_url: str
) -> None:
    api = make_api(
        state={"database_url": fresh_pg_url},
        ingest={"import_lease": 60.0, "ingest_batch_size": 8},
    )
    jobs, store = api.box.import_job_service, api.box.import_jobs
    assert isinstance(store, SharedImportJobs)
    job = jobs.submit_stream(io.BytesIO(rows(3000)), "many.jsonl", "jsonl")
    deadline = time.monotonic() + 30
    while (seen := jobs.get(job.id)).progress.get("added", 0) == 0:
        assert time.monotonic() < deadline and not seen.finished, seen
        time.sleep(0.02)
    jobs.stop()  # SIGTERM: the batches in flight are written, then the job is let go
    left = jobs.get(job.id)
    assert left.state == "running", left  # not failed: another replica finishes it
    taken = store.claim("other:1", 60)  # long before the 60 s lease would have run out
    assert taken is not None and taken.id == job.id and taken.attempts == 2
