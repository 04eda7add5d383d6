"""The ImportJobStore contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from simatch.stores.factory import StateBackend, open_import_jobs


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
