"""The alert store in one SQLite file: subscriptions, the detection journal, alert history
(``seen``), items waiting for a digest, and the outbox of deliveries (claimed with the
shared lease rules of ``claims.py``).

One file so that detection writes its whole decision in one transaction; WAL so that the
server, an import and `simatch alerts run` can share it. Claims take a write lock first
(``BEGIN IMMEDIATE``), so two dispatchers never lease the same delivery.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from simatch.domain.alerts import (
    AlertItem,
    Bar,
    Delivery,
    DeliveryState,
    Found,
    JournalEntry,
    OutboxCounts,
    Subscription,
)
from simatch.stores.queues import Queue
from simatch.stores.sqlite.claims import LEASE_COLUMNS, claim, complete
from simatch.stores.sqlite.connection import connect

FILE_NAME = "alerts.sqlite"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY, need_key TEXT NOT NULL, channel TEXT NOT NULL, frequency TEXT NOT NULL,
  target TEXT NOT NULL, secret TEXT NOT NULL, language TEXT NOT NULL, owner TEXT,
  created REAL NOT NULL, last_activity REAL, next_digest REAL);
CREATE INDEX IF NOT EXISTS subscriptions_need ON subscriptions (need_key);
CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, content_hash TEXT NOT NULL,
  created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
  need_key TEXT NOT NULL, record_key TEXT NOT NULL, at REAL NOT NULL, how TEXT NOT NULL,
  PRIMARY KEY (need_key, record_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_record ON seen (record_key);
CREATE TABLE IF NOT EXISTS bars (
  need_key TEXT NOT NULL, pool TEXT NOT NULL, made REAL NOT NULL, entries BLOB NOT NULL,
  PRIMARY KEY (need_key, pool)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS digest_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT, subscription_id TEXT NOT NULL, record_key TEXT NOT NULL,
  item TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS digest_items_sub ON digest_items (subscription_id);
CREATE TABLE IF NOT EXISTS reminders (
  subscription_id TEXT NOT NULL, record_key TEXT NOT NULL, item TEXT NOT NULL,
  remind_at REAL NOT NULL, PRIMARY KEY (subscription_id, record_key, remind_at));
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, idem TEXT NOT NULL UNIQUE,
  subscription_id TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
  items TEXT NOT NULL, state TEXT NOT NULL, due REAL NOT NULL, created REAL NOT NULL,
  sent REAL, last_error TEXT, {LEASE_COLUMNS});
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, due);
CREATE INDEX IF NOT EXISTS outbox_sub ON outbox (subscription_id);
"""

_SUB_COLUMNS = (
    "id, need_key, channel, frequency, target, secret, language, owner, created, last_activity"
)
_DELIVERY_NAMES = (
    "id", "idem", "subscription_id", "channel", "items", "kind", "state", "attempts", "due",
    "created", "sent", "last_error",
)  # fmt: skip
_DELIVERY_COLUMNS = ", ".join(_DELIVERY_NAMES)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INSERT_DELIVERY = (
    "INSERT INTO outbox (idem, subscription_id, channel, kind, items, state, due, created) "
    "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"
)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


class SqliteAlertStore:
    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._db.isolation_level = None  # transactions are explicit (``_write``)
        self._lock = threading.RLock()
        self._db.executescript(SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('version', '0')")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('bars_epoch', '0')")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (no upgrade deadlock between processes)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- meta -------------------------------------------------------------------------------

    def meta(self, name: str, default: str) -> str:
        """A named value, written with ``default`` the first time (e.g. a generated secret)."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (name, default))
            row = db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row[0])

    def version(self) -> int:
        return int(self._read("SELECT value FROM meta WHERE name = 'version'")[0][0])

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'version'")

    # -- subscriptions ----------------------------------------------------------------------

    def add_subscription(self, subscription: Subscription, next_digest: datetime | None) -> None:
        s = subscription
        with self._write() as db:
            db.execute(
                f"INSERT INTO subscriptions ({_SUB_COLUMNS}, next_digest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.id,
                    s.need_key,
                    s.channel,
                    s.frequency,
                    json.dumps(s.target),
                    s.secret,
                    s.language,
                    s.owner,
                    _ts(s.created),
                    None,
                    _ts(next_digest) if next_digest else None,
                ),
            )
            self._bump(db)

    @staticmethod
    def _subscription(row: tuple[Any, ...]) -> Subscription:
        return Subscription(
            id=row[0],
            need_key=row[1],
            channel=row[2],
            frequency=row[3],
            target=json.loads(row[4]),
            secret=row[5],
            language=row[6],
            owner=row[7],
            created=cast(datetime, _dt(row[8])),
            last_activity=_dt(row[9]),
        )

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        rows = self._read(
            f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,)
        )
        return self._subscription(rows[0]) if rows else None

    def subscriptions_of(self, need_keys: Sequence[str]) -> list[Subscription]:
        found: list[Subscription] = []
        for start in range(0, len(need_keys), 500):
            chunk = list(need_keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT {_SUB_COLUMNS} FROM subscriptions WHERE need_key IN ({marks}) "
                "ORDER BY created, id",
                chunk,
            )
            found.extend(self._subscription(r) for r in rows)
        return found

    def list_subscriptions(self, limit: int = 1000) -> list[Subscription]:
        rows = self._read(
            f"SELECT {_SUB_COLUMNS} FROM subscriptions ORDER BY created, id LIMIT ?", (limit,)
        )
        return [self._subscription(r) for r in rows]

    def followed_needs(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT need_key FROM subscriptions")]

    def remove_subscription(self, subscription_id: str) -> bool:
        with self._write() as db:
            row = db.execute(
                "SELECT need_key FROM subscriptions WHERE id = ?", (subscription_id,)
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
            db.execute("DELETE FROM digest_items WHERE subscription_id = ?", (subscription_id,))
            db.execute("DELETE FROM reminders WHERE subscription_id = ?", (subscription_id,))
            db.execute(
                "DELETE FROM outbox WHERE subscription_id = ? AND state = 'pending'",
                (subscription_id,),
            )
            others = db.execute(
                "SELECT 1 FROM subscriptions WHERE need_key = ? LIMIT 1", (row[0],)
            ).fetchone()
            if others is None:
                db.execute("DELETE FROM seen WHERE need_key = ?", (row[0],))
                db.execute("DELETE FROM bars WHERE need_key = ?", (row[0],))
            self._bump(db)
        return True

    def expire(self, before: datetime) -> int:
        stamp = _ts(before)
        ids = [
            r[0]
            for r in self._read(
                "SELECT id FROM subscriptions WHERE COALESCE(last_activity, created) < ?", (stamp,)
            )
        ]
        ended = sum(self.remove_subscription(i) for i in ids)
        with self._write() as db:
            db.execute("DELETE FROM outbox WHERE state != 'pending' AND sent < ?", (stamp,))
        return ended

    # -- detection --------------------------------------------------------------------------

    def journal_add(self, keys_and_hashes: Sequence[tuple[str, str]]) -> list[int]:
        now = datetime.now(UTC).timestamp()
        ids: list[int] = []
        with self._write() as db:
            for key, content_hash in keys_and_hashes:
                cursor = db.execute(
                    "INSERT INTO journal (key, content_hash, created) VALUES (?, ?, ?)",
                    (key, content_hash, now),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def journal_pending(self, limit: int) -> list[JournalEntry]:
        rows = self._read("SELECT id, key, content_hash FROM journal ORDER BY id LIMIT ?", (limit,))
        return [JournalEntry(r[0], r[1], r[2]) for r in rows]

    def journal_done(self, ids: Sequence[int]) -> None:
        with self._write() as db:
            self._journal_done(db, ids)

    @staticmethod
    def _journal_done(db: sqlite3.Connection, ids: Sequence[int]) -> None:
        db.executemany("DELETE FROM journal WHERE id = ?", [(i,) for i in ids])

    def unseen(self, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = set(pairs)
        records = sorted({r for _, r in wanted})
        known: set[tuple[str, str]] = set()
        for start in range(0, len(records), 500):
            chunk = records[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT need_key, record_key FROM seen WHERE record_key IN ({marks})", chunk
            )
            known.update((r[0], r[1]) for r in rows)
        return wanted - known

    def mark_seen(self, need_key: str, record_keys: Sequence[str], how: str = "known") -> None:
        now = datetime.now(UTC).timestamp()
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)",
                [(need_key, k, now, how) for k in record_keys],
            )

    def bars(self, need_keys: Sequence[str]) -> tuple[list[Bar], int]:
        with self._lock:
            epoch = int(
                self._db.execute("SELECT value FROM meta WHERE name = 'bars_epoch'").fetchone()[0]
            )
            if len(need_keys) > 500:  # most followed needs: read them all
                wanted = set(need_keys)
                rows = [
                    r
                    for r in self._db.execute("SELECT need_key, pool, made, entries FROM bars")
                    if r[0] in wanted
                ]
            else:
                marks = ",".join("?" * len(need_keys))
                rows = self._db.execute(
                    f"SELECT need_key, pool, made, entries FROM bars WHERE need_key IN ({marks})",
                    list(need_keys),
                ).fetchall()
        return [Bar.from_blob(r[0], r[1], _dt(r[2]) or _EPOCH, r[3]) for r in rows], epoch

    def save_bars(self, bars: Sequence[Bar], epoch: int) -> bool:
        with self._write() as db:
            now = db.execute("SELECT value FROM meta WHERE name = 'bars_epoch'").fetchone()[0]
            if int(now) != epoch:
                return False
            db.executemany(
                "INSERT OR REPLACE INTO bars VALUES (?, ?, ?, ?)",
                [(b.need_key, b.pool, _ts(b.made), b.blob()) for b in bars],
            )
        return True

    def clear_bars(self) -> int:
        with self._write() as db:
            db.execute("DELETE FROM bars")
            db.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'bars_epoch'"
            )
            row = db.execute("SELECT value FROM meta WHERE name = 'bars_epoch'").fetchone()
        return int(row[0])

    def record_detection(
        self, found: Sequence[Found], journal_ids: Sequence[int], now: datetime
    ) -> int:
        """In one transaction, with a few statements per 500 needs (not per item): the items
        no other detection has recorded for their need become history and deliveries."""
        written = 0
        stamp = _ts(now)
        with self._write() as db:
            for start in range(0, len(found), 500):
                written += self._record_chunk(db, found[start : start + 500], stamp)
            self._journal_done(db, journal_ids)
        return written

    def _record_chunk(self, db: sqlite3.Connection, found: Sequence[Found], stamp: float) -> int:
        needs = list(dict.fromkeys(e.need_key for e in found))
        marks = ",".join("?" * len(needs))
        pairs = list({(e.need_key, i.key) for e in found for i in e.items})
        known: set[tuple[str, str]] = set()
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            rows = db.execute(
                f"SELECT s.need_key, s.record_key FROM (VALUES {','.join(['(?, ?)'] * len(chunk))})"
                " AS v JOIN seen s ON s.need_key = v.column1 AND s.record_key = v.column2",
                [x for pair in chunk for x in pair],
            ).fetchall()
            known.update((r[0], r[1]) for r in rows)
        fresh: dict[str, list[AlertItem]] = {}
        for entry in found:
            for item in entry.items:
                if (entry.need_key, item.key) not in known:
                    known.add((entry.need_key, item.key))
                    fresh.setdefault(entry.need_key, []).append(item)
        db.executemany(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, 'alerted')",
            [(need, i.key, stamp) for need, items in fresh.items() for i in items],
        )
        subs = db.execute(
            f"SELECT need_key, id, channel, frequency FROM subscriptions "
            f"WHERE need_key IN ({marks})",
            needs,
        ).fetchall()
        deliveries: list[tuple[Any, ...]] = []
        digests: list[tuple[Any, ...]] = []
        for need_key, sub_id, channel, frequency in subs:
            items = fresh.get(need_key)
            if not items:
                continue
            if frequency == "immediate":
                deliveries.append(self._delivery_row(sub_id, channel, "alert", items, stamp))
            else:
                digests.extend((sub_id, i.key, json.dumps(i.to_json()), stamp) for i in items)
        db.executemany(_INSERT_DELIVERY, deliveries)
        db.executemany(
            "INSERT INTO digest_items (subscription_id, record_key, item, created) "
            "VALUES (?, ?, ?, ?)",
            digests,
        )
        return sum(len(items) for items in fresh.values())

    @staticmethod
    def _delivery_row(
        subscription_id: str, channel: str, kind: str, items: Sequence[AlertItem], due: float
    ) -> tuple[Any, ...]:
        body = json.dumps([[i.key, i.to_json()] for i in items], ensure_ascii=False)
        return (uuid.uuid4().hex, subscription_id, channel, kind, body, due, due)

    @staticmethod
    def _insert_delivery(
        db: sqlite3.Connection,
        subscription_id: str,
        channel: str,
        kind: str,
        items: Sequence[AlertItem],
        due: float,
    ) -> None:
        db.execute(
            _INSERT_DELIVERY,
            SqliteAlertStore._delivery_row(subscription_id, channel, kind, items, due),
        )

    # -- digests ----------------------------------------------------------------------------

    def form_digests(self, now: datetime, next_digest: dict[str, datetime]) -> int:
        """For each digest subscription whose time has come: its waiting items become one
        delivery (none when nothing waits), and its next digest time is set from
        ``next_digest`` (frequency -> the next time after ``now``). Returns deliveries made."""
        stamp = _ts(now)
        made = 0
        with self._write() as db:
            subs = db.execute(
                "SELECT id, channel, frequency FROM subscriptions "
                "WHERE frequency != 'immediate' AND next_digest <= ?",
                (stamp,),
            ).fetchall()
            for sub_id, channel, frequency in subs:
                rows = db.execute(
                    "SELECT record_key, item FROM digest_items WHERE subscription_id = ? "
                    "ORDER BY id",
                    (sub_id,),
                ).fetchall()
                if rows:
                    items = [AlertItem.from_json(k, json.loads(v)) for k, v in rows]
                    self._insert_delivery(db, sub_id, channel, "digest", items, stamp)
                    db.execute("DELETE FROM digest_items WHERE subscription_id = ?", (sub_id,))
                    made += 1
                db.execute(
                    "UPDATE subscriptions SET next_digest = ? WHERE id = ?",
                    (_ts(next_digest[frequency]), sub_id),
                )
        return made

    # -- reminders --------------------------------------------------------------------------

    def add_reminders(
        self, subscription_id: str, item: AlertItem, times: Sequence[datetime]
    ) -> None:
        body = json.dumps(item.to_json(), ensure_ascii=False)
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO reminders VALUES (?, ?, ?, ?)",
                [(subscription_id, item.key, body, _ts(t)) for t in times],
            )

    def form_reminders(self, now: datetime) -> int:
        stamp = _ts(now)
        with self._write() as db:
            rows = db.execute(
                "SELECT r.subscription_id, r.record_key, r.item, s.channel FROM reminders r "
                "JOIN subscriptions s ON s.id = r.subscription_id WHERE r.remind_at <= ?",
                (stamp,),
            ).fetchall()
            for sub_id, key, body, channel in rows:
                item = AlertItem.from_json(key, json.loads(body))
                self._insert_delivery(db, sub_id, channel, "reminder", [item], stamp)
            db.execute("DELETE FROM reminders WHERE remind_at <= ?", (stamp,))
        return len(rows)

    def delivered_item(self, subscription_id: str, record_key: str) -> AlertItem | None:
        for (items,) in self._read(
            "SELECT items FROM outbox WHERE subscription_id = ? ORDER BY id DESC",
            (subscription_id,),
        ):
            for key, data in json.loads(items):
                if key == record_key:
                    return AlertItem.from_json(key, data)
        return None

    # -- outbox -----------------------------------------------------------------------------

    def _delivery(self, row: tuple[Any, ...]) -> Delivery:
        items = tuple(AlertItem.from_json(k, v) for k, v in json.loads(row[4]))
        return Delivery(
            id=row[0],
            idempotency_key=row[1],
            subscription_id=row[2],
            channel=row[3],
            items=items,
            kind=row[5],
            state=cast(DeliveryState, row[6]),
            attempts=row[7],
            due=cast(datetime, _dt(row[8])),
            created=cast(datetime, _dt(row[9])),
            sent=_dt(row[10]),
            last_error=row[11],
        )

    def claim_due(
        self, worker: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[Delivery]:
        stamp = _ts(now)
        # ``ready`` is SQL written here; the time is a float formatted by Python.
        queue = Queue("outbox", ready=f"state = 'pending' AND due <= {stamp!r}", order="due, id")
        with self._lock:
            rows = claim(self._db, queue, worker, limit, lease_seconds, now=stamp)
        rows.sort(key=lambda r: (r["due"], r["id"]))
        return [self._delivery(tuple(r[c] for c in _DELIVERY_NAMES)) for r in rows]

    def _complete(self, delivery_id: int, worker: str, done: str) -> bool:
        with self._lock:
            return complete(self._db, Queue("outbox"), delivery_id, worker, done)

    def mark_sent(self, delivery_id: int, worker: str, now: datetime) -> bool:
        held = self._complete(
            delivery_id, worker, f"state = 'sent', sent = {_ts(now)!r}, last_error = NULL"
        )
        with self._write() as db:
            db.execute(
                "UPDATE subscriptions SET last_activity = ? WHERE id = "
                "(SELECT subscription_id FROM outbox WHERE id = ?)",
                (_ts(now), delivery_id),
            )
        return held

    def mark_retry(self, delivery_id: int, worker: str, error: str, due: datetime) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE outbox SET due = ?, last_error = ?, claimed_by = NULL, "
                "claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                (_ts(due), error[:500], delivery_id, worker),
            )
        return cursor.rowcount == 1

    def mark_failed(self, delivery_id: int, worker: str, error: str, now: datetime) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE outbox SET state = 'failed', last_error = ?, sent = ?, "
                "claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                (error[:500], _ts(now), delivery_id, worker),
            )
        return cursor.rowcount == 1

    def deliveries(self, state: str | None = None, limit: int = 100) -> list[Delivery]:
        where, params = ("WHERE state = ?", [state]) if state else ("", [])
        rows = self._read(
            f"SELECT {_DELIVERY_COLUMNS} FROM outbox {where} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        return [self._delivery(r) for r in rows]

    def counts(self, failures: int = 20) -> OutboxCounts:
        states = dict(self._read("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
        subs = self._read("SELECT COUNT(*) FROM subscriptions")[0][0]
        journal = self._read("SELECT COUNT(*) FROM journal")[0][0]
        return OutboxCounts(
            pending=states.get("pending", 0),
            sent=states.get("sent", 0),
            failed=states.get("failed", 0),
            cancelled=states.get("cancelled", 0),
            subscriptions=subs,
            journal_pending=journal,
            failures=self.deliveries("failed", failures),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
