"""`simatch migrate-state` carries the alert store (subscriptions, the detection journal, what
each need was alerted about, digest items, reminders, the outbox and the unsubscribe secret)
and the background-import history, with the uploads a retry needs, into PostgreSQL, where
the PostgreSQL stores read them; running it again adds nothing."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simatch.config import (
    EmbeddingSettings,
    IndexSettings,
    IngestEnvSettings,
    Settings,
    StateSettings,
    TextSettings,
)
from simatch.domain.alerts import AlertItem, Found, Subscription
from simatch.domain.audit import Actor
from simatch.domain.imports import SharedImportJobs
from simatch.domain.ports import SearchFilter
from simatch.stores.factory import StateBackend, open_alert_store, open_import_jobs, open_state
from simatch.wiring import Container
from tests.api.test_import_jobs import rows
from tests.serving import run_simatch, simatch_env

NOW = datetime.now(UTC).replace(microsecond=0)


def item(key: str, title: str) -> AlertItem:
    kind, record_id = key.split(":", 1)
    return AlertItem(key, record_id, kind, "funders", title, 0.8, "good", {"terms": ["nuoret"]},
                     deadline="2027-01-31")  # fmt: skip


def subscription(sub_id: str, need: str, frequency: str) -> Subscription:
    return Subscription(
        sub_id, need, "webhook", frequency,  # type: ignore[arg-type]
        {"url": "https://example.org/hook"}, "s3cret", "fi", "key1", NOW - timedelta(days=3),
    )  # fmt: skip


def embedded_installation(data_dir: Path) -> str:
    """Alerts in every state, and import jobs: one done, one failed, one killed mid-run.
    Returns the unsubscribe secret."""
    sqlite = StateBackend(data_dir)
    alerts = open_alert_store(sqlite)
    alerts.add_subscription(subscription("sub-now", "need:n1", "immediate"), None)
    alerts.add_subscription(subscription("sub-day", "need:n2", "daily"), NOW + timedelta(hours=5))
    alerts.record_detection(
        [Found("need:n1", (item("call:c1", "Nuorten kutsu"),)),
         Found("need:n2", (item("call:c2", "Päivän kutsu"),))],
        [],
        NOW - timedelta(minutes=1),
    )  # fmt: skip
    alerts.mark_seen("need:n1", ["innovation:i9"], how="rejected")
    alerts.journal_add([("call:c3", "hash3")])  # indexed, not yet checked
    alerts.add_reminders("sub-now", item("call:c1", "Nuorten kutsu"), [NOW + timedelta(days=12)])
    secret = alerts.meta("unsubscribe_secret", "the-secret")
    alerts.close()

    jobs = open_import_jobs(sqlite)
    staff = Actor("Kaisa", "console", "k1")
    done = jobs.create("a" * 32, "done.jsonl", "jsonl", "/gone/a.upload", "host:1", staff)
    jobs.start(done.id)
    jobs.finish(done.id, "succeeded", {"read": 3, "added": 3}, {"ok": True})
    failed = jobs.create("b" * 32, "bad.csv", "csv", "/gone/b.upload", "host:1")
    jobs.start(failed.id)
    jobs.finish(failed.id, "failed", {"read": 1}, None, "broken file")
    killed = jobs.create("c" * 32, "big.jsonl", "jsonl", "/gone/c.upload", "host:1", staff)
    jobs.start(killed.id)
    jobs.progress(killed.id, {"read": 50, "added": 40}, {"ok": True})
    jobs.close()
    return secret


def test_migrate_state_copies_alerts_and_import_jobs_once(
    tmp_path: Path, fresh_pg_url: str
) -> None:
    data = tmp_path / "data"
    secret = embedded_installation(data)
    env = simatch_env(data)

    first = run_simatch("migrate-state", "--to", fresh_pg_url, env=env)
    assert first.returncode == 0, first.stderr
    counts = {line.split()[0]: line.split()[1:] for line in first.stdout.splitlines()}
    for store, n in {
        "alert_meta": 1, "alert_subscriptions": 2, "alert_journal": 1, "alert_seen": 3,
        "alert_digest_items": 1, "alert_reminders": 1, "alert_outbox": 1, "import_jobs": 3,
    }.items():  # fmt: skip
        assert counts[store] == [str(n), "read", str(n), "added"], (store, counts[store])

    again = run_simatch("migrate-state", "--to", fresh_pg_url, env=env)
    assert again.returncode == 0, again.stderr
    assert all(line.split()[3] == "0" for line in again.stdout.splitlines()), again.stdout

    shared = open_state(
        IndexSettings(data_dir=tmp_path / "replica"), StateSettings(database_url=fresh_pg_url)
    )
    try:
        alerts = open_alert_store(shared)
        assert alerts.meta("unsubscribe_secret", "another") == secret  # old links still work
        assert sorted(alerts.followed_needs()) == ["need:n1", "need:n2"]
        sub = alerts.get_subscription("sub-now")
        assert sub is not None and sub.target == {"url": "https://example.org/hook"}
        assert sub.created == NOW - timedelta(days=3)
        # Never alerted twice: what each need got (or rejected) is known.
        pairs = [("need:n1", "call:c1"), ("need:n1", "innovation:i9"), ("need:n2", "call:c2"),
                 ("need:n1", "call:c4")]  # fmt: skip
        assert alerts.unseen(pairs) == {("need:n1", "call:c4")}
        assert [(e.key, e.content_hash) for e in alerts.journal_pending(10)] == [
            ("call:c3", "hash3")
        ]
        (due,) = alerts.claim_due("replica:1", NOW, 60, 10)  # the pending delivery, once
        assert due.subscription_id == "sub-now" and [i.key for i in due.items] == ["call:c1"]
        assert due.items[0].deadline == "2027-01-31"
        tomorrow = {"daily": NOW + timedelta(days=1)}
        assert alerts.form_digests(NOW + timedelta(hours=6), tomorrow) == 1
        assert alerts.form_reminders(NOW + timedelta(days=13)) == 1
        assert alerts.delivered_item("sub-now", "call:c1") is not None

        jobs = open_import_jobs(shared)
        assert isinstance(jobs, SharedImportJobs)
        listed = {j.id[0]: j for j in jobs.list()}
        assert [j.source for j in jobs.list()] == ["big.jsonl", "bad.csv", "done.jsonl"]
        assert listed["a"].state == "succeeded" and listed["a"].progress == {"read": 3, "added": 3}
        assert listed["a"].submitted_by == Actor("Kaisa", "console", "k1")
        assert (listed["b"].state, listed["b"].error) == ("failed", "broken file")
        killed = listed["c"]
        assert killed.state == "failed" and killed.finished_at is not None
        assert "interrupted" in (killed.error or "") and killed.progress["added"] == 40
        assert jobs.claim("replica:1", 60) is None  # nothing left to run by itself
        assert not jobs.fetch_upload(killed.upload, io.BytesIO())
    finally:
        shared.close()


def test_the_uploads_of_jobs_to_retry_move_and_a_replica_retries_them(
    tmp_path: Path, fresh_pg_url: str
) -> None:
    data = tmp_path / "data"
    uploads = data / "uploads"
    uploads.mkdir(parents=True)
    contents = {
        "f": rows(5), "m": rows(7, start=100), "x": rows(20_000, start=1000), "s": rows(2),
        "p": rows(3, start=500),
    }  # fmt: skip
    assert len(contents["x"]) > 1 << 20  # kept in more than one part
    for name, content in contents.items():
        (uploads / f"{name}.upload").write_bytes(content)
    jobs = open_import_jobs(StateBackend(data))
    failed = jobs.create("f" * 32, "five.jsonl", "jsonl", str(uploads / "f.upload"), "host:1")
    jobs.start(failed.id)
    jobs.finish(failed.id, "failed", {"read": 2}, None, "the disk was full")
    # Killed mid-run in a data directory that was moved since: its file is under this one.
    moved = jobs.create("m" * 32, "seven.jsonl", "jsonl", "/old/data/uploads/m.upload", "host:1")
    jobs.start(moved.id)
    jobs.progress(moved.id, {"read": 3, "added": 3}, {"ok": True})
    cancelled = jobs.create("x" * 32, "big.jsonl", "jsonl", str(uploads / "x.upload"), "host:1")
    jobs.request_cancel(cancelled.id)
    done = jobs.create("s" * 32, "two.jsonl", "jsonl", str(uploads / "s.upload"), "host:1")
    jobs.start(done.id)
    jobs.finish(done.id, "succeeded", {"read": 2, "added": 2}, {"ok": True})
    gone = jobs.create("g" * 32, "gone.jsonl", "jsonl", str(uploads / "g.upload"), "host:1")
    jobs.start(gone.id)
    jobs.finish(gone.id, "failed", {}, None, "cleaned since")  # its file is no longer kept
    # Previewed in the console, not confirmed yet: staff confirm it on a replica.
    preview = {"read": 3, "new": 3, "changed": 0, "unchanged": 0, "rejected": []}
    staged = jobs.create(
        "p" * 32, "three.jsonl", "jsonl", str(uploads / "p.upload"), "host:1", preview=preview
    )
    assert staged.state == "staged"
    jobs.close()
    env = simatch_env(data)

    first = run_simatch("migrate-state", "--to", fresh_pg_url, env=env)
    assert first.returncode == 0, first.stderr
    counts = {line.split()[0]: line.split()[1:] for line in first.stdout.splitlines()}
    assert counts["import_jobs"] == ["6", "read", "6", "added"]
    assert counts["import_uploads"] == ["4", "read", "4", "added"]  # not the success's
    again = run_simatch("migrate-state", "--to", fresh_pg_url, env=env)
    assert again.returncode == 0, again.stderr
    recount = {line.split()[0]: line.split()[1:] for line in again.stdout.splitlines()}
    assert recount["import_uploads"] == ["4", "read", "0", "added"]

    shutil.rmtree(uploads)  # the replicas run on other machines: the files are not there
    replica = Container(
        Settings(
            index=IndexSettings(data_dir=tmp_path / "replica"),
            state=StateSettings(database_url=fresh_pg_url),
            embedding=EmbeddingSettings(embedding_backend="fake"),
            text=TextSettings(),
            ingest=IngestEnvSettings(optimize_after=10**9),
        )
    )
    service = replica.import_job_service
    try:
        store = replica.import_jobs
        assert isinstance(store, SharedImportJobs)
        kept = store.get(staged.id)  # still waiting, with what the console showed
        assert kept is not None and (kept.state, kept.finished_at) == ("staged", None)
        assert kept.preview == preview and kept.error is None
        for job, name in ((failed, "f"), (moved, "m"), (cancelled, "x"), (staged, "p")):
            fetched = io.BytesIO()
            assert store.fetch_upload(job.upload, fetched), name
            assert fetched.getvalue() == contents[name], name
        assert not store.has_upload(done.upload) and not store.has_upload(gone.upload)
        for job, added in ((failed, 5), (moved, 7)):
            retried = service.wait(service.retry(job.id).id, timeout=60)
            assert retried.state == "succeeded", retried.error
            assert retried.progress["added"] == added
        confirmed = service.wait(service.confirm(staged.id).id, timeout=60)
        assert confirmed.state == "succeeded", confirmed.error
        assert confirmed.progress["added"] == 3
        assert replica.index.count(SearchFilter(kinds=("actor",))) == 15
    finally:
        service.stop()
        replica.close()
