"""The sync state of external sources in PostgreSQL (``SyncStateStore``): runs, per-item state
and the staff-edited profiles, shared by replicas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from simatch.domain.sources import ItemState, Profile, SyncCounts, SyncRun
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "sync_state",
    (
        """CREATE TABLE sync_runs (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            status TEXT NOT NULL,
            counts JSONB NOT NULL,
            error TEXT,
            rejections JSONB NOT NULL DEFAULT '[]'
        );
        CREATE INDEX sync_runs_source ON sync_runs (source, id);
        CREATE TABLE source_items (
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            key TEXT NOT NULL,
            checksum TEXT NOT NULL,
            remap_after DATE,
            withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
            PRIMARY KEY (source, source_id)
        );
        CREATE TABLE source_profiles (
            source TEXT PRIMARY KEY,
            profile JSONB NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )""",
    ),
)

_RUN_COLUMNS = "id, source, started_at, finished_at, status, counts, error, rejections"


class PgSyncStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def start_run(self, source: str, now: datetime) -> SyncRun:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE sync_runs SET status = 'interrupted'"
                " WHERE source = %s AND status = 'running'",
                (source,),
            )
            row = conn.execute(
                "INSERT INTO sync_runs (source, started_at, status, counts)"
                " VALUES (%s, %s, 'running', %s) RETURNING id",
                (source, now, Jsonb(SyncCounts().as_dict())),
            ).fetchone()
        assert row is not None
        return SyncRun(id=int(row[0]), source=source, started_at=now)

    def save_run(self, run: SyncRun) -> None:
        with self._db.connection() as conn:
            conn.execute(
                "UPDATE sync_runs SET finished_at = %s, status = %s, counts = %s, error = %s,"
                " rejections = %s WHERE id = %s",
                (
                    run.finished_at,
                    run.status,
                    Jsonb(run.counts.as_dict()),
                    run.error,
                    Jsonb(run.rejections),
                    run.id,
                ),
            )

    def last_run(self, source: str) -> SyncRun | None:
        runs = self.runs(source, 1)
        return runs[0] if runs else None

    def runs(self, source: str, limit: int = 10) -> list[SyncRun]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM sync_runs WHERE source = %s ORDER BY id DESC LIMIT %s",
                (source, limit),
            ).fetchall()
        return [_run(row) for row in rows]

    def items(self, source: str) -> dict[str, ItemState]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT source, source_id, key, checksum, remap_after, withdrawn"
                " FROM source_items WHERE source = %s",
                (source,),
            ).fetchall()
        return {
            row[1]: ItemState(
                source=row[0],
                source_id=row[1],
                key=row[2],
                checksum=row[3],
                remap_after=row[4],
                withdrawn=bool(row[5]),
            )
            for row in rows
        }

    def put_items(self, states: list[ItemState]) -> None:
        if not states:
            return
        with self._db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO source_items (source, source_id, key, checksum, remap_after,"
                " withdrawn) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (source, source_id)"
                " DO UPDATE SET key = EXCLUDED.key, checksum = EXCLUDED.checksum,"
                " remap_after = EXCLUDED.remap_after, withdrawn = EXCLUDED.withdrawn",
                [
                    (s.source, s.source_id, s.key, s.checksum, s.remap_after, s.withdrawn)
                    for s in states
                ],
            )

    def profile(self, source: str) -> Profile | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT profile FROM source_profiles WHERE source = %s", (source,)
            ).fetchone()
        if row is None:
            return None
        profile: Profile = row[0]
        return profile

    def set_profile(self, source: str, profile: Profile | None) -> None:
        with self._db.connection() as conn:
            if profile is None:
                conn.execute("DELETE FROM source_profiles WHERE source = %s", (source,))
                return
            conn.execute(
                "INSERT INTO source_profiles (source, profile, updated_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (source) DO UPDATE SET profile = EXCLUDED.profile,"
                " updated_at = EXCLUDED.updated_at",
                (source, Jsonb(profile), datetime.now(UTC)),
            )

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def _run(row: tuple[Any, ...]) -> SyncRun:
    return SyncRun(
        id=int(row[0]),
        source=row[1],
        started_at=row[2],
        finished_at=row[3],
        status=row[4],
        counts=SyncCounts(**{k: int(v) for k, v in row[5].items()}),
        error=row[6],
        rejections=list(row[7] or []),
    )
