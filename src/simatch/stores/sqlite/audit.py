"""The audit trail in SQLite (``AuditLog``): append-only, newest first when read."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from simatch.domain.audit import Action, Actor, AuditEntry, AuditQuery
from simatch.stores.sqlite.connection import connect, to_datetime

FILE_NAME = "audit.sqlite"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        who TEXT NOT NULL,
        key_id TEXT,
        via TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before TEXT,
        after TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS audit_target ON audit (target, id)",
)
_COLUMNS = "id, at, who, key_id, via, action, target, before, after"


class SqliteAuditLog:
    """SQLite file under the data directory; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._db = connect(path)
        self._clock = clock
        self._lock = threading.Lock()
        with self._lock, self._db:
            for statement in _SCHEMA:
                self._db.execute(statement)

    def append(
        self,
        actor: Actor,
        action: Action,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> AuditEntry:
        now = self._clock()
        values = (now, actor.name, actor.key_id, actor.via, action, target, _dump(before),
                  _dump(after))  # fmt: skip
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO audit (at, who, key_id, via, action, target, before, after)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            row = (cursor.lastrowid, *values)
        return _entry(row)

    def list(self, query: AuditQuery) -> list[AuditEntry]:
        where: list[str] = []
        params: list[Any] = []
        if query.who:
            where.append("who = ?")
            params.append(query.who)
        if query.action:
            where.append("action = ?")
            params.append(query.action)
        if query.target:
            if query.target.endswith(":"):
                where.append("substr(target, 1, ?) = ?")
                params.extend([len(query.target), query.target])
            else:
                where.append("target = ?")
                params.append(query.target)
        if query.since is not None:
            where.append("at >= ?")
            params.append(_seconds(query.since))
        if query.until is not None:
            where.append("at < ?")
            params.append(_seconds(query.until))
        if query.before_id is not None:
            where.append("id < ?")
            params.append(query.before_id)
        sql = f"SELECT {_COLUMNS} FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(query.limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [_entry(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _seconds(moment: datetime) -> float:
    """Seconds since the epoch; a moment the platform cannot convert (year 1 in a time zone
    east of UTC) lies before or after every entry."""
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return -1e18 if moment.year < 1970 else 1e18


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _load(value: str | None) -> dict[str, Any] | None:
    return None if value is None else cast(dict[str, Any], json.loads(value))


def _entry(row: tuple[Any, ...] | sqlite3.Row) -> AuditEntry:
    at = to_datetime(row[1])
    assert at is not None
    return AuditEntry(
        id=int(row[0]),
        at=at,
        who=row[2],
        key_id=row[3],
        via=row[4],
        action=cast(Action, row[5]),
        target=row[6],
        before=_load(row[7]),
        after=_load(row[8]),
    )
