"""Claiming queued work with a lease, on SQLite and PostgreSQL: claimers get disjoint rows,
a dead claimer's rows come back after the lease, a finished row is never claimed again."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from simatch.stores.factory import StateBackend
from simatch.stores.queues import Queue

QUEUE = Queue("outbox", ready="sent_at IS NULL", order="id")


class Backend:
    """The claim functions of one backend, over one connection per worker."""

    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend
        if backend.database is not None:
            from simatch.stores.postgres import claims

            self.claims: Any = claims
            with backend.database.connection() as conn:
                conn.execute(
                    f"CREATE TABLE outbox (id BIGINT PRIMARY KEY, body TEXT,"
                    f" sent_at TIMESTAMPTZ, {claims.LEASE_COLUMNS})"
                )
        else:
            from simatch.stores.sqlite import claims as sqlite_claims

            self.claims = sqlite_claims
            with self.connect() as db:
                db.execute(
                    f"CREATE TABLE outbox (id INTEGER PRIMARY KEY, body TEXT, sent_at REAL,"
                    f" {sqlite_claims.LEASE_COLUMNS})"
                )
                db.commit()

    def connect(self) -> sqlite3.Connection:
        from simatch.stores.sqlite.connection import connect

        return connect(self.backend.data_dir / "queue.sqlite")

    def run(self, work: Callable[[Any], Any]) -> Any:
        if self.backend.database is not None:
            with self.backend.database.connection() as conn:
                return work(conn)
        db = self.connect()
        try:
            return work(db)
        finally:
            db.close()

    def add(self, count: int) -> None:
        rows = [(i, f"alert {i}") for i in range(1, count + 1)]
        if self.backend.database is not None:
            with self.backend.database.connection() as conn, conn.cursor() as cur:
                cur.executemany("INSERT INTO outbox (id, body) VALUES (%s, %s)", rows)
        else:
            with self.connect() as db:
                db.executemany("INSERT INTO outbox (id, body) VALUES (?, ?)", rows)

    def claim(self, worker: str, limit: int = 1, lease: float = 60.0) -> list[dict[str, Any]]:
        return self.run(lambda c: self.claims.claim(c, QUEUE, worker, limit, lease))  # type: ignore[no-any-return]

    def complete(self, row_id: int, worker: str) -> bool:
        done = "sent_at = now()" if self.backend.database is not None else "sent_at = 1"
        return bool(self.run(lambda c: self.claims.complete(c, QUEUE, row_id, worker, done)))


@pytest.fixture
def queue(backend: StateBackend) -> Backend:
    return Backend(backend)


def test_concurrent_claimers_get_disjoint_rows_and_finish_each_once(queue: Backend) -> None:
    queue.add(60)
    done: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        start.wait()
        while rows := queue.claim(name, limit=3):
            for row in rows:
                assert row["claimed_by"] == name
                assert queue.complete(row["id"], name)
                with lock:
                    done.append(row["id"])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, ["w1", "w2", "w3", "w4"]))
    assert sorted(done) == list(range(1, 61))  # every row once, none twice
    assert queue.claim("late") == []


def test_a_dead_claimers_row_is_claimed_again_after_its_lease(queue: Backend) -> None:
    queue.add(2)
    first = queue.claim("dies", limit=1, lease=0.3)
    assert [r["id"] for r in first] == [1]
    assert [r["id"] for r in queue.claim("other", limit=5, lease=30)] == [2]  # 1 is held
    time.sleep(0.4)
    again = queue.claim("other", limit=5, lease=30)
    assert [r["id"] for r in again] == [1] and again[0]["attempts"] == 2
    # The one that lost its lease cannot mark the row; the new holder can.
    assert not queue.complete(1, "dies")
    assert queue.complete(1, "other")
    assert queue.claim("anyone", limit=5) == []


WORKER = """
import sys, time
import psycopg
from simatch.stores.postgres import claims
from simatch.stores.queues import Queue

url, name, hang_on = sys.argv[1], sys.argv[2], int(sys.argv[3])
queue = Queue("outbox", ready="sent_at IS NULL", order="id")
with psycopg.connect(url, autocommit=True) as conn:
    while True:  # a sender's loop: claim, deliver, mark; poll while work is outstanding
        rows = claims.claim(conn, queue, name, limit=1, lease_seconds=1.0)
        if not rows:
            left = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()
            if left == (0,):
                break
            time.sleep(0.1)  # held by someone else: its lease may run out
            continue
        row = rows[0]
        # The side effect, idempotent by the outbox id (as a delivery's idempotency key).
        conn.execute(
            "INSERT INTO delivered (id, tries) VALUES (%s, 1)"
            " ON CONFLICT (id) DO UPDATE SET tries = delivered.tries + 1", (row["id"],))
        if row["id"] == hang_on:
            print("hanging", flush=True)
            time.sleep(600)  # killed here: delivered, not marked
        assert claims.complete(conn, queue, row["id"], name, "sent_at = now()")
"""


def test_a_killed_replicas_work_is_finished_by_another_once(fresh_pg_url: str) -> None:
    import subprocess
    import sys

    import psycopg

    from simatch.stores.postgres.claims import LEASE_COLUMNS

    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE outbox (id BIGINT PRIMARY KEY, sent_at TIMESTAMPTZ, {LEASE_COLUMNS})"
        )
        conn.execute("CREATE TABLE delivered (id BIGINT PRIMARY KEY, tries INT NOT NULL)")
        conn.execute("INSERT INTO outbox (id) SELECT generate_series(1, 20)")
    dying = subprocess.Popen(
        [sys.executable, "-c", WORKER, fresh_pg_url, "dies", "7"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert dying.stdout is not None and dying.stdout.readline().strip() == "hanging"
        dying.kill()  # SIGKILL in the middle of row 7
        dying.wait(10)
        finishing = subprocess.run(
            [sys.executable, "-c", WORKER, fresh_pg_url, "survivor", "0"], timeout=60, check=False
        )
        assert finishing.returncode == 0
    finally:
        dying.kill()
    with psycopg.connect(fresh_pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone() == (0,)
        rows = dict(conn.execute("SELECT id, tries FROM delivered").fetchall())
        attempts = dict(conn.execute("SELECT id, attempts FROM outbox").fetchall())
    assert sorted(rows) == list(range(1, 21))  # nothing lost, each stored once
    assert rows[7] == 2 and attempts[7] == 2  # tried again after the lease, idempotently
    assert all(tries == 1 for key, tries in rows.items() if key != 7)  # nothing else twice
