"""The audit trail in PostgreSQL (``AuditLog``): append-only, shared by every replica."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from psycopg.types.json import Jsonb

from simatch.domain.audit import Action, Actor, AuditEntry, AuditQuery
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "audit",
    (
        """CREATE TABLE audit (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at TIMESTAMPTZ NOT NULL,
            who TEXT NOT NULL,
            key_id TEXT,
            via TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            before JSONB,
            after JSONB
        );
        CREATE INDEX audit_target ON audit (target, id)""",
    ),
)
_COLUMNS = "id, at, who, key_id, via, action, target, before, after"


class PgAuditLog:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def append(
        self,
        actor: Actor,
        action: Action,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> AuditEntry:
        now = datetime.fromtimestamp(self._clock(), UTC)
        with self._db.connection() as conn:
            row = conn.execute(
                "INSERT INTO audit (at, who, key_id, via, action, target, before, after)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (now, actor.name, actor.key_id, actor.via, action, target, _json(before),
                 _json(after)),
            ).fetchone()  # fmt: skip
        assert row is not None
        return _entry(row)

    def list(self, query: AuditQuery) -> list[AuditEntry]:
        where: list[str] = ["true"]
        params: list[Any] = []
        for clause, value in (
            ("who = %s", query.who),
            ("action = %s", query.action),
            ("at >= %s", query.since),
            ("at < %s", query.until),
            ("id < %s", query.before_id),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if query.target:
            if query.target.endswith(":"):
                where.append("starts_with(target, %s)")
            else:
                where.append("target = %s")
            params.append(query.target)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit WHERE {' AND '.join(where)}"
                " ORDER BY id DESC LIMIT %s",
                (*params, query.limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def _json(value: dict[str, Any] | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=int(row[0]),
        at=row[1],
        who=row[2],
        key_id=row[3],
        via=row[4],
        action=cast(Action, row[5]),
        target=row[6],
        before=row[7],
        after=row[8],
    )
