"""Claiming queued work across replicas (the alert outbox, import jobs): ``FOR UPDATE SKIP
LOCKED`` with a lease.

A queue is a table with the lease columns of ``LEASE_COLUMNS``. ``claim`` takes up to
``limit`` ready rows that nobody holds (or whose holder's lease ran out: it died, or hangs)
in one statement; two replicas claiming at once get disjoint rows. The holder finishes a
row with ``complete`` (or gives it back with ``release``); both check that it still holds
the row, so a replica that lost its lease cannot mark work another one took over. A
replica killed mid-work leaves its rows to be claimed again after the lease: work is done at
least once, so what it does must be idempotent (an alert delivery carries its outbox id as
the idempotency key, an import job resumes from its recorded progress).
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from simatch.stores.postgres.database import Connection
from simatch.stores.queues import Queue

# Add these to a queue table (in its migration), with an index on what ``ready`` tests.
LEASE_COLUMNS = """claimed_by TEXT,
    claimed_until TIMESTAMPTZ,
    attempts INTEGER NOT NULL DEFAULT 0"""


def claim(
    conn: Connection, queue: Queue, worker: str, limit: int = 1, lease_seconds: float = 60.0
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` rows for ``worker`` (one statement); the rows as dicts."""
    t, key = queue.table, queue.id
    sql = f"""UPDATE {t} SET claimed_by = %(worker)s,
            claimed_until = now() + make_interval(secs => %(lease)s),
            attempts = attempts + 1
        WHERE {key} IN (
            SELECT {key} FROM {t}
            WHERE ({queue.ready}) AND (claimed_until IS NULL OR claimed_until < now())
            ORDER BY {queue.order} LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED)
        RETURNING *"""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, {"worker": worker, "lease": lease_seconds, "limit": limit})
        return cur.fetchall()


def extend(conn: Connection, queue: Queue, row_id: Any, worker: str, lease_seconds: float) -> bool:
    """Keep holding a row during long work; False when the lease was lost."""
    cur = conn.execute(
        f"UPDATE {queue.table} SET claimed_until = now() + make_interval(secs => %s)"
        f" WHERE {queue.id} = %s AND claimed_by = %s AND claimed_until >= now()",
        (lease_seconds, row_id, worker),
    )
    return cur.rowcount == 1


def complete(conn: Connection, queue: Queue, row_id: Any, worker: str, done: str) -> bool:
    """Finish a held row: ``done`` is the SQL assignment that makes it no longer ready
    (``"delivered_at = now()"``); False when the row is no longer this worker's."""
    cur = conn.execute(
        f"UPDATE {queue.table} SET {done}, claimed_by = NULL, claimed_until = NULL"
        f" WHERE {queue.id} = %s AND claimed_by = %s",
        (row_id, worker),
    )
    return cur.rowcount == 1


def release(conn: Connection, queue: Queue, row_id: Any, worker: str) -> bool:
    """Give a held row back at once (a failure worth retrying elsewhere)."""
    cur = conn.execute(
        f"UPDATE {queue.table} SET claimed_by = NULL, claimed_until = NULL"
        f" WHERE {queue.id} = %s AND claimed_by = %s",
        (row_id, worker),
    )
    return cur.rowcount == 1
