"""The PostgreSQL layer itself: migrations under concurrency, advisory locks, errors."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from simatch.errors import BackendUnavailable, Conflict
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations, migrate, versions
from simatch.stores.postgres.schema import ALL


def test_replicas_starting_at_once_migrate_once(fresh_pg_url: str) -> None:
    databases = [Database(fresh_pg_url, max_size=2) for _ in range(4)]
    barrier = threading.Barrier(len(databases))

    def start(db: Database) -> dict[str, int]:
        barrier.wait()
        return migrate(db, ALL)

    try:
        with ThreadPoolExecutor(len(databases)) as pool:
            results = list(pool.map(start, databases))
        # Exactly one replica applied the steps; the others found the schema current.
        assert sum(bool(r) for r in results) == 1
        assert versions(databases[0]) == {m.store: len(m.steps) for m in ALL}
        assert migrate(databases[0], ALL) == {}
    finally:
        for db in databases:
            db.close()


def test_a_new_step_is_applied_once_and_a_newer_database_is_left_alone(
    fresh_pg_url: str,
) -> None:
    db = Database(fresh_pg_url, max_size=2)
    try:
        v1 = Migrations("demo", ("CREATE TABLE demo (a INT)",))
        v2 = Migrations("demo", (*v1.steps, "ALTER TABLE demo ADD COLUMN b TEXT"))
        assert migrate(db, [v1]) == {"demo": 1}
        assert migrate(db, [v2]) == {"demo": 1}
        assert migrate(db, [v2]) == {}
        assert migrate(db, [v1]) == {}  # an older replica during a rolling upgrade
        assert versions(db)["demo"] == 2
        with db.connection() as conn:
            conn.execute("INSERT INTO demo (a, b) VALUES (1, 'x')")
    finally:
        db.close()


def test_a_failing_step_leaves_nothing_half_done(fresh_pg_url: str) -> None:
    db = Database(fresh_pg_url, max_size=2)
    try:
        bad = Migrations("bad", ("CREATE TABLE t1 (a INT); CREATE TABLE t1 (a INT)",))
        with pytest.raises(Exception):  # noqa: B017 - the driver's duplicate-table error
            migrate(db, [bad])
        with db.connection() as conn:
            assert conn.execute("SELECT to_regclass('t1')").fetchone() == (None,)
        assert "bad" not in versions(db)
    finally:
        db.close()


def test_an_advisory_lock_is_held_by_one_at_a_time(pg_url: str) -> None:
    one, two = Database(pg_url, max_size=2), Database(pg_url, max_size=2)
    try:
        with one.advisory_lock("sync:eu", wait=False) as taken:
            assert taken
            with two.advisory_lock("sync:eu", wait=False) as also:
                assert not also
            with two.advisory_lock("sync:other", wait=False) as other:
                assert other
        with two.advisory_lock("sync:eu", wait=False) as taken_now:
            assert taken_now
        # A waiting taker gets it as soon as the holder lets go.
        order: list[str] = []

        def wait_for_it() -> None:
            with two.advisory_lock("sync:eu"):
                order.append("two")

        with one.advisory_lock("sync:eu"):
            waiter = threading.Thread(target=wait_for_it)
            waiter.start()
            time.sleep(0.2)
            order.append("one done")
        waiter.join(5)
        assert order == ["one done", "two"]
    finally:
        one.close()
        two.close()


def test_errors_map_to_the_error_tree(pg_url: str) -> None:
    db = Database(pg_url, max_size=1)
    try:
        with db.connection() as conn:
            conn.execute("CREATE TEMP TABLE u (a INT PRIMARY KEY)")
            conn.execute("INSERT INTO u VALUES (1)")
        with pytest.raises(Conflict), db.connection() as conn:
            conn.execute("INSERT INTO u VALUES (1)")
    finally:
        db.close()


def test_an_unreachable_server_is_backend_unavailable() -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="SIMATCH_DATABASE_URL"):
        Database("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", timeout=1.0)
    assert time.monotonic() - started < 10


def test_connections_the_server_dropped_are_replaced_unseen(pg_url: str) -> None:
    """A database restart or failover drops every connection: the next requests still work
    (each pooled connection is checked when taken, and a dead one replaced)."""
    import psycopg

    db = Database(pg_url, max_size=3)
    try:
        with db.connection() as a, db.connection() as b:
            pids = {a.info.backend_pid, b.info.backend_pid}
        with psycopg.connect(pg_url, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(4):
            with db.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        db.close()
