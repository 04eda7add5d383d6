"""Import jobs in PostgreSQL (``ImportJobStore``): one row per job, progress and report as
JSONB; every replica sees every job (each runs the jobs whose upload it received)."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from simatch.domain.imports import FINISHED, ImportJob, JobState
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "import_jobs",
    (
        """CREATE TABLE import_jobs (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            format TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            progress JSONB NOT NULL DEFAULT '{}',
            report JSONB,
            error TEXT,
            cancel_requested BOOLEAN NOT NULL DEFAULT false,
            worker TEXT,
            upload TEXT NOT NULL
        )""",
    ),
)
_COLUMNS = (
    "id, source, format, state, created_at, started_at, finished_at, progress, report, error,"
    " cancel_requested, worker, upload"
)
_DONE = list(FINISHED)


class PgImportJobStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, job_id: str, source: str, format: str, upload: str, worker: str) -> ImportJob:
        with self._db.connection() as conn:
            row = conn.execute(
                "INSERT INTO import_jobs (id, source, format, state, created_at, worker, upload)"
                f" VALUES (%s, %s, %s, 'queued', %s, %s, %s) RETURNING {_COLUMNS}",
                (job_id, source, format, _now(), worker, upload),
            ).fetchone()
        assert row is not None
        return _job(row)

    def get(self, job_id: str) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM import_jobs WHERE id = %s", (job_id,)
            ).fetchone()
        return _job(row) if row else None

    def list(self, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM import_jobs ORDER BY seq DESC LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [_job(r) for r in rows]

    def unfinished(self) -> builtins.list[ImportJob]:
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM import_jobs WHERE state <> ALL(%s) ORDER BY seq",
                (_DONE,),
            ).fetchall()
        return [_job(r) for r in rows]

    def start(self, job_id: str) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET state = 'running', started_at = %s"
                f" WHERE id = %s AND state = 'queued' RETURNING {_COLUMNS}",
                (_now(), job_id),
            ).fetchone()
        return _job(row) if row else None

    def progress(self, job_id: str, progress: dict[str, int], report: dict[str, Any]) -> bool:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET progress = %s, report = %s"
                " WHERE id = %s AND state = 'running' RETURNING cancel_requested",
                (Jsonb(progress), Jsonb(report), job_id),
            ).fetchone()
        return bool(row and row[0])

    def finish(
        self,
        job_id: str,
        state: JobState,
        progress: dict[str, int],
        report: dict[str, Any] | None,
        error: str | None = None,
    ) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET state = %s, finished_at = %s, progress = %s,"
                " report = %s, error = %s"
                f" WHERE id = %s AND state <> ALL(%s) RETURNING {_COLUMNS}",
                (
                    state,
                    _now(),
                    Jsonb(progress),
                    Jsonb(report) if report is not None else None,
                    error,
                    job_id,
                    _DONE,
                ),
            ).fetchone()
        return _job(row) if row else None

    def request_cancel(self, job_id: str) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET cancel_requested = true,"
                " state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,"
                " finished_at = CASE WHEN state = 'queued' THEN %s ELSE finished_at END"
                f" WHERE id = %s RETURNING {_COLUMNS}",
                (_now(), job_id),
            ).fetchone()
        return _job(row) if row else None

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def _now() -> datetime:
    return datetime.now(UTC)


def _job(row: tuple[Any, ...]) -> ImportJob:
    return ImportJob(
        id=row[0],
        source=row[1],
        format=row[2],
        state=row[3],
        created_at=row[4],
        started_at=row[5],
        finished_at=row[6],
        progress=dict(row[7] or {}),
        report=row[8],
        error=row[9],
        cancel_requested=bool(row[10]),
        worker=row[11],
        upload=row[12],
    )
