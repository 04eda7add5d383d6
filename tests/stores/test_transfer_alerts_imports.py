"""`simatch migrate-state` carries the alert store (subscriptions, the detection journal, what
each need was alerted about, digest items, reminders, the outbox and the unsubscribe secret)
and the background-import history into PostgreSQL, where the PostgreSQL stores read them;
running it again adds nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simatch.config import IndexSettings, StateSettings
from simatch.domain.alerts import AlertItem, Found, Subscription
from simatch.domain.audit import Actor
from simatch.domain.imports import SharedImportJobs
from simatch.stores.factory import StateBackend, open_alert_store, open_import_jobs, open_state
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
