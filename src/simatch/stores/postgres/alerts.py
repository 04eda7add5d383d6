"""The alert store in PostgreSQL (``AlertStore``): subscriptions, the detection journal, alert
history, items waiting for a digest and the outbox, shared by every replica.

Detection writes its decision in one transaction; the outbox is claimed with ``FOR UPDATE
SKIP LOCKED`` and a lease (``claims.py``), so one replica delivers each delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from simatch.domain.alerts import (
    AlertItem,
    Bar,
    Delivery,
    Found,
    JournalEntry,
    OutboxCounts,
    Subscription,
)
from simatch.stores.postgres.claims import LEASE_COLUMNS, claim, complete
from simatch.stores.postgres.database import Connection, Database
from simatch.stores.postgres.migrations import Migrations
from simatch.stores.queues import Queue

MIGRATIONS = Migrations(
    "alerts",
    (
        f"""CREATE TABLE alert_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO alert_meta VALUES ('version', '0');
        CREATE TABLE alert_subscriptions (
            id TEXT PRIMARY KEY, need_key TEXT NOT NULL, channel TEXT NOT NULL,
            frequency TEXT NOT NULL, target JSONB NOT NULL, secret TEXT NOT NULL,
            language TEXT NOT NULL, owner TEXT, created TIMESTAMPTZ NOT NULL,
            last_activity TIMESTAMPTZ, next_digest TIMESTAMPTZ);
        CREATE INDEX alert_subscriptions_need ON alert_subscriptions (need_key);
        CREATE TABLE alert_journal (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key TEXT NOT NULL,
            content_hash TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE alert_seen (
            need_key TEXT NOT NULL, record_key TEXT NOT NULL, at TIMESTAMPTZ NOT NULL,
            how TEXT NOT NULL, PRIMARY KEY (need_key, record_key));
        CREATE TABLE alert_digest_items (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            subscription_id TEXT NOT NULL, record_key TEXT NOT NULL, item JSONB NOT NULL,
            created TIMESTAMPTZ NOT NULL);
        CREATE INDEX alert_digest_items_sub ON alert_digest_items (subscription_id);
        CREATE TABLE alert_outbox (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, idem TEXT NOT NULL UNIQUE,
            subscription_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
            items JSONB NOT NULL, state TEXT NOT NULL, due TIMESTAMPTZ NOT NULL,
            created TIMESTAMPTZ NOT NULL, sent TIMESTAMPTZ, last_error TEXT,
            {LEASE_COLUMNS});
        CREATE INDEX alert_outbox_due ON alert_outbox (state, due);
        CREATE INDEX alert_outbox_sub ON alert_outbox (subscription_id)""",
        """CREATE TABLE alert_reminders (
            subscription_id TEXT NOT NULL, record_key TEXT NOT NULL, item JSONB NOT NULL,
            remind_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (subscription_id, record_key, remind_at))""",
        """CREATE TABLE alert_bars (
            need_key TEXT NOT NULL, pool TEXT NOT NULL, made TIMESTAMPTZ NOT NULL,
            entries BYTEA NOT NULL, PRIMARY KEY (need_key, pool));
        INSERT INTO alert_meta VALUES ('bars_epoch', '0')""",
    ),
)

_SUB = "id, need_key, channel, frequency, target, secret, language, owner, created, last_activity"
_OUT = "id, idem, subscription_id, channel, items, kind, state, attempts, due, created, sent, " \
    "last_error"  # fmt: skip


def _subscription(row: Sequence[Any]) -> Subscription:
    return Subscription(
        id=row[0],
        need_key=row[1],
        channel=row[2],
        frequency=row[3],
        target=dict(row[4]),
        secret=row[5],
        language=row[6],
        owner=row[7],
        created=row[8],
        last_activity=row[9],
    )


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(row[0]),
        idempotency_key=row[1],
        subscription_id=row[2],
        channel=row[3],
        items=tuple(AlertItem.from_json(k, v) for k, v in row[4]),
        kind=row[5],
        state=row[6],
        attempts=int(row[7]),
        due=row[8],
        created=row[9],
        sent=row[10],
        last_error=row[11],
    )


def _items(items: Sequence[AlertItem]) -> Jsonb:
    return Jsonb([[i.key, i.to_json()] for i in items])


class PgAlertStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- meta -------------------------------------------------------------------------------

    def meta(self, name: str, default: str) -> str:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO alert_meta VALUES (%s, %s) ON CONFLICT DO NOTHING", (name, default)
            )
            row = conn.execute("SELECT value FROM alert_meta WHERE name = %s", (name,)).fetchone()
        assert row is not None
        return str(row[0])

    def version(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT value FROM alert_meta WHERE name = 'version'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump(conn: Connection) -> None:
        conn.execute(
            "UPDATE alert_meta SET value = (value::bigint + 1)::text WHERE name = 'version'"
        )

    # -- subscriptions ----------------------------------------------------------------------

    def add_subscription(self, subscription: Subscription, next_digest: datetime | None) -> None:
        s = subscription
        with self._db.transaction() as conn:
            conn.execute(
                f"INSERT INTO alert_subscriptions ({_SUB}, next_digest) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    s.id,
                    s.need_key,
                    s.channel,
                    s.frequency,
                    Jsonb(s.target),
                    s.secret,
                    s.language,
                    s.owner,
                    s.created,
                    None,
                    next_digest,
                ),
            )
            self._bump(conn)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_SUB} FROM alert_subscriptions WHERE id = %s", (subscription_id,)
            ).fetchone()
        return _subscription(row) if row else None

    def subscriptions_of(self, need_keys: Sequence[str]) -> list[Subscription]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_SUB} FROM alert_subscriptions WHERE need_key = ANY(%s) "
                "ORDER BY created, id",
                (list(need_keys),),
            ).fetchall()
        return [_subscription(r) for r in rows]

    def list_subscriptions(self, limit: int = 1000) -> list[Subscription]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_SUB} FROM alert_subscriptions ORDER BY created, id LIMIT %s", (limit,)
            ).fetchall()
        return [_subscription(r) for r in rows]

    def followed_needs(self) -> list[str]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT need_key FROM alert_subscriptions ORDER BY need_key"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def remove_subscription(self, subscription_id: str) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute(
                "DELETE FROM alert_subscriptions WHERE id = %s RETURNING need_key",
                (subscription_id,),
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "DELETE FROM alert_digest_items WHERE subscription_id = %s", (subscription_id,)
            )
            conn.execute(
                "DELETE FROM alert_reminders WHERE subscription_id = %s", (subscription_id,)
            )
            conn.execute(
                "DELETE FROM alert_outbox WHERE subscription_id = %s AND state = 'pending'",
                (subscription_id,),
            )
            for table in ("alert_seen", "alert_bars"):
                conn.execute(
                    f"DELETE FROM {table} WHERE need_key = %s AND NOT EXISTS "
                    "(SELECT 1 FROM alert_subscriptions WHERE need_key = %s)",
                    (row[0], row[0]),
                )
            self._bump(conn)
        return True

    def expire(self, before: datetime) -> int:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id FROM alert_subscriptions WHERE COALESCE(last_activity, created) < %s",
                (before,),
            ).fetchall()
        ended = sum(self.remove_subscription(r[0]) for r in rows)
        with self._db.connection() as conn:
            conn.execute(
                "DELETE FROM alert_outbox WHERE state <> 'pending' AND sent < %s", (before,)
            )
        return ended

    # -- detection --------------------------------------------------------------------------

    def journal_add(self, keys_and_hashes: Sequence[tuple[str, str]]) -> list[int]:
        if not keys_and_hashes:
            return []
        with self._db.connection() as conn:
            rows = conn.execute(
                "INSERT INTO alert_journal (key, content_hash) "
                "SELECT * FROM unnest(%s::text[], %s::text[]) RETURNING id",
                ([k for k, _ in keys_and_hashes], [h for _, h in keys_and_hashes]),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def journal_pending(self, limit: int) -> list[JournalEntry]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, key, content_hash FROM alert_journal ORDER BY id LIMIT %s", (limit,)
            ).fetchall()
        return [JournalEntry(int(r[0]), r[1], r[2]) for r in rows]

    def journal_done(self, ids: Sequence[int]) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM alert_journal WHERE id = ANY(%s)", (list(ids),))

    def unseen(self, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = set(pairs)
        if not wanted:
            return set()
        needs, records = [n for n, _ in wanted], [r for _, r in wanted]
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT s.need_key, s.record_key FROM alert_seen s "
                "JOIN unnest(%s::text[], %s::text[]) AS p(n, r) "
                "ON s.need_key = p.n AND s.record_key = p.r",
                (needs, records),
            ).fetchall()
        return wanted - {(r[0], r[1]) for r in rows}

    def mark_seen(self, need_key: str, record_keys: Sequence[str], how: str = "known") -> None:
        with self._db.connection() as conn:
            conn.execute(
                "INSERT INTO alert_seen SELECT %s, r, now(), %s FROM unnest(%s::text[]) AS r "
                "ON CONFLICT DO NOTHING",
                (need_key, how, list(record_keys)),
            )

    def bars(self, need_keys: Sequence[str]) -> tuple[list[Bar], int]:
        with self._db.connection() as conn:
            epoch = conn.execute(
                "SELECT value FROM alert_meta WHERE name = 'bars_epoch'"
            ).fetchone()
            rows = conn.execute(
                "SELECT need_key, pool, made, entries FROM alert_bars WHERE need_key = ANY(%s)",
                (list(need_keys),),
            ).fetchall()
        bars = [Bar.from_blob(r[0], r[1], r[2], bytes(r[3])) for r in rows]
        return bars, int(epoch[0]) if epoch else 0

    def save_bars(self, bars: Sequence[Bar], epoch: int) -> bool:
        with self._db.transaction() as conn:
            # Taken FOR SHARE: a clear (which updates the row) waits, or has happened.
            now = conn.execute(
                "SELECT value FROM alert_meta WHERE name = 'bars_epoch' FOR SHARE"
            ).fetchone()
            if now is None or int(now[0]) != epoch:
                return False
            if bars:
                conn.execute(
                    "INSERT INTO alert_bars SELECT * FROM unnest(%s::text[], %s::text[], "
                    "%s::timestamptz[], %s::bytea[]) ON CONFLICT (need_key, pool) DO UPDATE "
                    "SET made = EXCLUDED.made, entries = EXCLUDED.entries",
                    (
                        [b.need_key for b in bars],
                        [b.pool for b in bars],
                        [b.made for b in bars],
                        [b.blob() for b in bars],
                    ),
                )
        return True

    def clear_bars(self) -> int:
        with self._db.transaction() as conn:
            row = conn.execute(
                "UPDATE alert_meta SET value = (value::bigint + 1)::text "
                "WHERE name = 'bars_epoch' RETURNING value"
            ).fetchone()
            conn.execute("DELETE FROM alert_bars")
        return int(row[0]) if row else 0

    def record_detection(
        self, found: Sequence[Found], journal_ids: Sequence[int], now: datetime
    ) -> int:
        written = 0
        with self._db.transaction() as conn:
            for entry in found:
                keys = [i.key for i in entry.items]
                rows = conn.execute(
                    "INSERT INTO alert_seen SELECT %s, r, %s, 'alerted' FROM unnest(%s::text[]) "
                    "AS r ON CONFLICT DO NOTHING RETURNING record_key",
                    (entry.need_key, now, keys),
                ).fetchall()
                new = {r[0] for r in rows}
                fresh = [i for i in entry.items if i.key in new]
                if not fresh:
                    continue
                written += len(fresh)
                subs = conn.execute(
                    "SELECT id, channel, frequency FROM alert_subscriptions WHERE need_key = %s",
                    (entry.need_key,),
                ).fetchall()
                for sub_id, channel, frequency in subs:
                    if frequency == "immediate":
                        self._insert_delivery(conn, sub_id, channel, "alert", fresh, now)
                    else:
                        with conn.cursor() as cur:
                            cur.executemany(
                                "INSERT INTO alert_digest_items (subscription_id, record_key, "
                                "item, created) VALUES (%s, %s, %s, %s)",
                                [(sub_id, i.key, Jsonb(i.to_json()), now) for i in fresh],
                            )
            if journal_ids:
                conn.execute("DELETE FROM alert_journal WHERE id = ANY(%s)", (list(journal_ids),))
        return written

    @staticmethod
    def _insert_delivery(
        conn: Connection,
        subscription_id: str,
        channel: str,
        kind: str,
        items: Sequence[AlertItem],
        due: datetime,
    ) -> None:
        conn.execute(
            "INSERT INTO alert_outbox (idem, subscription_id, channel, kind, items, state, due, "
            "created) VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s)",
            (uuid.uuid4().hex, subscription_id, channel, kind, _items(items), due, due),
        )

    # -- digests ----------------------------------------------------------------------------

    def form_digests(self, now: datetime, next_digest: dict[str, datetime]) -> int:
        made = 0
        with self._db.transaction() as conn:
            # Locked: two replicas forming digests at once do not both take the same items.
            subs = conn.execute(
                "SELECT id, channel, frequency FROM alert_subscriptions "
                "WHERE frequency <> 'immediate' AND next_digest <= %s FOR UPDATE SKIP LOCKED",
                (now,),
            ).fetchall()
            for sub_id, channel, frequency in subs:
                rows = conn.execute(
                    "DELETE FROM alert_digest_items WHERE subscription_id = %s "
                    "RETURNING id, record_key, item",
                    (sub_id,),
                ).fetchall()
                if rows:
                    rows.sort(key=lambda r: r[0])
                    items = [AlertItem.from_json(r[1], r[2]) for r in rows]
                    self._insert_delivery(conn, sub_id, channel, "digest", items, now)
                    made += 1
                conn.execute(
                    "UPDATE alert_subscriptions SET next_digest = %s WHERE id = %s",
                    (next_digest[frequency], sub_id),
                )
        return made

    # -- reminders --------------------------------------------------------------------------

    def add_reminders(
        self, subscription_id: str, item: AlertItem, times: Sequence[datetime]
    ) -> None:
        with self._db.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alert_reminders VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(subscription_id, item.key, Jsonb(item.to_json()), t) for t in times],
            )

    def form_reminders(self, now: datetime) -> int:
        with self._db.transaction() as conn:
            rows = conn.execute(
                "DELETE FROM alert_reminders r USING alert_subscriptions s "
                "WHERE s.id = r.subscription_id AND r.remind_at <= %s "
                "RETURNING r.subscription_id, r.record_key, r.item, s.channel",
                (now,),
            ).fetchall()
            for sub_id, key, body, channel in rows:
                item = AlertItem.from_json(key, body)
                self._insert_delivery(conn, sub_id, channel, "reminder", [item], now)
        return len(rows)

    def delivered_item(self, subscription_id: str, record_key: str) -> AlertItem | None:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT items FROM alert_outbox WHERE subscription_id = %s ORDER BY id DESC",
                (subscription_id,),
            ).fetchall()
        for (items,) in rows:
            for key, data in items:
                if key == record_key:
                    return AlertItem.from_json(key, data)
        return None

    # -- outbox -----------------------------------------------------------------------------

    def claim_due(
        self, worker: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[Delivery]:
        # ``ready`` is SQL written here; the time is a float formatted by Python.
        ready = f"state = 'pending' AND due <= to_timestamp({now.timestamp()!r})"
        with self._db.connection() as conn:
            rows = claim(
                conn, Queue("alert_outbox", ready, "due, id"), worker, limit, lease_seconds
            )
        rows.sort(key=lambda r: (r["due"], r["id"]))
        names = [c.strip() for c in _OUT.split(",")]
        return [_delivery([r[n] for n in names]) for r in rows]

    def mark_sent(self, delivery_id: int, worker: str, now: datetime) -> bool:
        with self._db.transaction() as conn:
            held = complete(
                conn,
                Queue("alert_outbox"),
                delivery_id,
                worker,
                f"state = 'sent', sent = to_timestamp({now.timestamp()!r}), last_error = NULL",
            )
            conn.execute(
                "UPDATE alert_subscriptions SET last_activity = %s WHERE id = "
                "(SELECT subscription_id FROM alert_outbox WHERE id = %s)",
                (now, delivery_id),
            )
        return held

    def mark_retry(self, delivery_id: int, worker: str, error: str, due: datetime) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE alert_outbox SET due = %s, last_error = %s, claimed_by = NULL, "
                "claimed_until = NULL WHERE id = %s AND claimed_by = %s",
                (due, error[:500], delivery_id, worker),
            )
        return cur.rowcount == 1

    def mark_failed(self, delivery_id: int, worker: str, error: str, now: datetime) -> bool:
        with self._db.connection() as conn:
            cur = conn.execute(
                "UPDATE alert_outbox SET state = 'failed', last_error = %s, sent = %s, "
                "claimed_by = NULL, claimed_until = NULL WHERE id = %s AND claimed_by = %s",
                (error[:500], now, delivery_id, worker),
            )
        return cur.rowcount == 1

    def deliveries(self, state: str | None = None, limit: int = 100) -> list[Delivery]:
        where, params = ("WHERE state = %s", [state]) if state else ("", [])
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_OUT} FROM alert_outbox {where} ORDER BY id DESC LIMIT %s",
                [*params, limit],
            ).fetchall()
        return [_delivery(r) for r in rows]

    def counts(self, failures: int = 20) -> OutboxCounts:
        with self._db.connection() as conn:
            states = dict(
                conn.execute("SELECT state, count(*) FROM alert_outbox GROUP BY state").fetchall()
            )
            subs = conn.execute("SELECT count(*) FROM alert_subscriptions").fetchone()
            journal = conn.execute("SELECT count(*) FROM alert_journal").fetchone()
        return OutboxCounts(
            pending=int(states.get("pending", 0)),
            sent=int(states.get("sent", 0)),
            failed=int(states.get("failed", 0)),
            cancelled=int(states.get("cancelled", 0)),
            subscriptions=int(subs[0]) if subs else 0,
            journal_pending=int(journal[0]) if journal else 0,
            failures=self.deliveries("failed", failures),
        )

    def close(self) -> None:
        """The database is shared and closed by its owner."""
