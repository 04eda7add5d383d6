"""Claiming queued work in SQLite, with the same lease rules as ``postgres/claims.py``: the
file's write lock (``BEGIN IMMEDIATE``) serializes claimers, so two processes on one
machine (the server and a CLI worker) get disjoint rows, and a dead one's rows come back
after the lease. Times are Unix seconds (REAL)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from simatch.stores.queues import Queue

LEASE_COLUMNS = """claimed_by TEXT,
    claimed_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0"""

__all__ = ["LEASE_COLUMNS", "Queue", "claim", "complete", "extend", "release"]


def claim(
    db: sqlite3.Connection,
    queue: Queue,
    worker: str,
    limit: int = 1,
    lease_seconds: float = 60.0,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` rows for ``worker``; the rows as dicts. ``db`` must be in
    autocommit mode or outside a transaction (this opens its own)."""
    now = time.time() if now is None else now
    t, key = queue.table, queue.id
    db.execute("BEGIN IMMEDIATE")
    try:
        cur = db.execute(
            f"""UPDATE {t} SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
            WHERE {key} IN (
                SELECT {key} FROM {t}
                WHERE ({queue.ready}) AND (claimed_until IS NULL OR claimed_until < ?)
                ORDER BY {queue.order} LIMIT ?)
            RETURNING *""",
            (worker, now + lease_seconds, now, limit),
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return rows


def extend(
    db: sqlite3.Connection, queue: Queue, row_id: Any, worker: str, lease_seconds: float
) -> bool:
    now = time.time()
    with db:
        cur = db.execute(
            f"UPDATE {queue.table} SET claimed_until = ? WHERE {queue.id} = ?"
            " AND claimed_by = ? AND claimed_until >= ?",
            (now + lease_seconds, row_id, worker, now),
        )
    return cur.rowcount == 1


def complete(db: sqlite3.Connection, queue: Queue, row_id: Any, worker: str, done: str) -> bool:
    with db:
        cur = db.execute(
            f"UPDATE {queue.table} SET {done}, claimed_by = NULL, claimed_until = NULL"
            f" WHERE {queue.id} = ? AND claimed_by = ?",
            (row_id, worker),
        )
    return cur.rowcount == 1


def release(db: sqlite3.Connection, queue: Queue, row_id: Any, worker: str) -> bool:
    with db:
        cur = db.execute(
            f"UPDATE {queue.table} SET claimed_by = NULL, claimed_until = NULL"
            f" WHERE {queue.id} = ? AND claimed_by = ?",
            (row_id, worker),
        )
    return cur.rowcount == 1
