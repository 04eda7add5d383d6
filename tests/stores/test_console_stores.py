"""The staff console's stores (audit trail, sessions, review decisions) and what its pages
read from the match and gap logs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from simatch.domain.audit import Actor, AuditQuery
from simatch.domain.sessions import ConsoleSession
from simatch.stores.factory import (
    StateBackend,
    open_audit_log,
    open_gap_log,
    open_review_log,
    open_session_store,
)
from tests.stores.conftest import Stores

KAISA = Actor("Kaisa", "console", "k1")
BOT = Actor("sync", "api", "k2")


def test_the_audit_trail_keeps_who_what_and_before_after(backend: StateBackend) -> None:
    log = open_audit_log(backend)
    created = log.append(KAISA, "create", "need:n-1", None, {"title": "A", "regions": ["x"]})
    log.append(BOT, "update", "call:c-1", {"title": "B"}, {"title": "C"})
    log.append(KAISA, "delete", "need:n-1", {"title": "A"}, None)
    assert created.who == "Kaisa" and created.key_id == "k1" and created.via == "console"
    assert created.at.tzinfo is not None and created.before is None
    assert created.after == {"title": "A", "regions": ["x"]}
    entries = log.list(AuditQuery())
    assert [e.action for e in entries] == ["delete", "update", "create"]
    assert [e.action for e in log.list(AuditQuery(who="Kaisa"))] == ["delete", "create"]
    assert [e.action for e in log.list(AuditQuery(action="update"))] == ["update"]
    assert [e.target for e in log.list(AuditQuery(target="call:"))] == ["call:c-1"]
    assert [e.action for e in log.list(AuditQuery(target="need:n-1"))] == ["delete", "create"]
    assert log.list(AuditQuery(target="call")) == []  # a prefix needs its colon
    assert len(log.list(AuditQuery(before_id=entries[0].id))) == 2
    assert len(log.list(AuditQuery(limit=1))) == 1
    hour = timedelta(hours=1)
    assert len(log.list(AuditQuery(since=datetime.now(UTC) - hour))) == 3
    assert log.list(AuditQuery(since=datetime.now(UTC) + hour)) == []
    assert log.list(AuditQuery(until=datetime.now(UTC) - hour)) == []
    log.close()


def test_sessions_expire_and_end_with_their_key(backend: StateBackend) -> None:
    store = open_session_store(backend)
    now = datetime(2027, 1, 1, 8, tzinfo=UTC)

    def session(name: str, key: str, hours: float) -> ConsoleSession:
        return ConsoleSession(
            f"h-{name}", key, name, f"csrf-{name}", now, now + timedelta(hours=hours)
        )

    store.create(session("a", "k1", 8))
    store.create(session("b", "k1", 1))
    store.create(session("c", "k2", 8))
    found = store.get("h-a", now)
    assert found == session("a", "k1", 8)
    assert store.get("h-b", now + timedelta(hours=1)) is None  # expired at that moment
    assert store.purge(now + timedelta(hours=2)) == 1
    assert store.delete_for_key("k1") == 1
    assert store.get("h-a", now) is None and store.get("h-c", now) is not None
    store.delete("h-c")
    assert store.get("h-c", now) is None
    # Used, a session ends later; one that has ended is not brought back.
    store.create(session("d", "k3", 1))
    assert store.extend("h-d", now + timedelta(hours=2), now + timedelta(minutes=30))
    assert store.get("h-d", now + timedelta(hours=1, minutes=30)) == session("d", "k3", 2)
    assert not store.extend("h-d", now + timedelta(hours=5), now + timedelta(hours=2))
    assert store.get("h-d", now + timedelta(hours=2)) is None
    assert not store.extend("h-gone", now + timedelta(hours=5), now)
    store.close()


def test_review_decisions_are_remembered_per_queue(backend: StateBackend) -> None:
    log = open_review_log(backend)
    log.decide("pair", ["innovation:a|innovation:b"], "keep_both", KAISA, {"decision": "keep_both"})
    log.decide("gap", ["1", "2"], "need", KAISA, {"need": "need:x"})
    log.decide("gap", ["2"], "handled", BOT)  # a later decision replaces the earlier one
    log.decide("feedback", [], "handled", KAISA)
    pairs = log.decided("pair")
    assert list(pairs) == ["innovation:a|innovation:b"]
    assert pairs["innovation:a|innovation:b"].who == "Kaisa"
    gaps = log.decided("gap", ["1", "2", "3"])
    assert {k: (d.decision, d.who, d.detail) for k, d in gaps.items()} == {
        "1": ("need", "Kaisa", {"need": "need:x"}),
        "2": ("handled", "sync", {}),
    }
    assert gaps["1"].at.tzinfo is not None
    assert log.decided("gap", []) == {} and log.decided("feedback") == {}
    log.close()


def test_where_an_item_was_shown_and_activity_per_day(stores: Stores) -> None:
    log = stores.feedback()
    vector = np.ones(8, dtype=np.float32) / np.sqrt(8)
    log.log_match("m1", vector, "fi", [("innovation", "a"), ("call", "c")])
    log.log_match("m2", vector, "en", [("call", "c"), ("innovation", "ab")])
    log.log_match("m3", vector, "fi", [("innovation", "b")])
    shown = log.matches_showing("innovation", "a")
    assert [m.match_id for m in shown] == ["m1"]  # not m2's "ab"
    assert [m.match_id for m in log.matches_showing("call", "c")] == ["m2", "m1"]
    assert len(log.matches_showing("call", "c", limit=1)) == 1
    assert log.matches_showing("actor", "a") == []
    log.add_feedback("m1", "a", "innovation", "useful", None, "api")
    log.add_feedback("m1", "c", "call", "not_useful", None, "api")
    log.add_feedback("m3", "b", "innovation", "not_useful", None, "api")
    today = datetime.now(UTC).date().isoformat()
    since = datetime.now(UTC) - timedelta(days=1)
    assert log.matches_per_day(since) == {today: 3}
    assert log.feedback_per_day(since) == {(today, "useful"): 1, (today, "not_useful"): 2}
    assert log.matches_per_day(datetime.now(UTC) + timedelta(days=1)) == {}


def test_gaps_per_day(backend: StateBackend) -> None:
    gaps = open_gap_log(backend)
    gaps.record("a", "fi", "api")
    gaps.record("b", "en", "slack")
    today = datetime.now(UTC).date().isoformat()
    assert gaps.per_day(datetime.now(UTC) - timedelta(days=1)) == {today: 2}
    assert gaps.per_day(datetime.now(UTC) + timedelta(days=1)) == {}
    gaps.close()
