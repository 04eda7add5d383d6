"""Import jobs in PostgreSQL (``SharedImportJobs``): one row per job, progress and report as
JSONB. Every replica sees every job, and any replica may run one: the upload's bytes are
kept in ``import_uploads`` (1 MiB parts) until the job succeeds, and a worker claims a job
with a lease (``claims.py``: ``FOR UPDATE SKIP LOCKED``) that it extends while it runs, so a
job whose replica died is taken over by another once the lease runs out."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from psycopg.types.json import Jsonb

from simatch.domain.audit import Actor
from simatch.domain.imports import FINISHED, ImportJob, JobState
from simatch.stores.postgres import claims
from simatch.stores.postgres.database import Connection, Database
from simatch.stores.postgres.migrations import Migrations
from simatch.stores.queues import Queue

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
        # 2: jobs any replica may run (a lease on each), the uploads they read, the submitter.
        """ALTER TABLE import_jobs ADD COLUMN claimed_by TEXT,
            ADD COLUMN claimed_until TIMESTAMPTZ,
            ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0,
            ADD COLUMN submitted_by JSONB;
        CREATE INDEX import_jobs_unfinished ON import_jobs (seq)
            WHERE state IN ('queued', 'running');
        CREATE TABLE import_uploads (
            upload TEXT NOT NULL,
            part INTEGER NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (upload, part)
        )""",
        # 3: staff console uploads wait, staged, with their preview.
        "ALTER TABLE import_jobs ADD COLUMN preview JSONB",
    ),
)
_COLUMNS = (
    "id, source, format, state, created_at, started_at, finished_at, progress, report, error,"
    " cancel_requested, worker, upload, submitted_by, attempts, preview"
)
_DONE = list(FINISHED)
# Queued jobs, and running ones whose worker stopped extending its lease.
_QUEUE = Queue("import_jobs", ready="state IN ('queued', 'running')", order="seq", id="id")
_PART = 1 << 20  # bytes of an upload per row


class PgImportJobStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        job_id: str,
        source: str,
        format: str,
        upload: str,
        worker: str,
        actor: Actor | None = None,
        preview: dict[str, Any] | None = None,
    ) -> ImportJob:
        """The job, and the bytes of the file at ``upload`` (when this process has it and
        they are not kept yet: a retry's upload is), in one transaction: a job is never
        claimable before its upload is readable everywhere."""
        submitter = Jsonb(vars(actor)) if actor is not None else None
        state = "queued" if preview is None else "staged"
        shown = Jsonb(preview) if preview is not None else None
        with self._db.transaction() as conn:
            keep_upload(conn, upload, Path(upload))
            row = conn.execute(
                "INSERT INTO import_jobs (id, source, format, state, created_at, worker,"
                " upload, submitted_by, preview) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                f" RETURNING {_COLUMNS}",
                (job_id, source, format, state, _now(), worker, upload, submitter, shown),
            ).fetchone()
        assert row is not None
        return _job(row)

    def queue(self, job_id: str) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET state = 'queued' WHERE id = %s AND state = 'staged'"
                f" RETURNING {_COLUMNS}",
                (job_id,),
            ).fetchone()
        return _job(row) if row else None

    def claim(self, worker: str, lease_seconds: float) -> ImportJob | None:
        with self._db.transaction() as conn:
            claimed = claims.claim(conn, _QUEUE, worker, 1, lease_seconds)
            if not claimed:
                return None
            row = conn.execute(
                "UPDATE import_jobs SET state = 'running', worker = %s,"
                f" started_at = COALESCE(started_at, %s) WHERE id = %s RETURNING {_COLUMNS}",
                (worker, _now(), claimed[0]["id"]),
            ).fetchone()
        return _job(row) if row else None

    def extend(self, job_id: str, worker: str, lease_seconds: float) -> bool:
        with self._db.connection() as conn:
            return claims.extend(conn, _QUEUE, job_id, worker, lease_seconds)

    def fetch_upload(self, upload: str, target: IO[bytes]) -> bool:
        found = False
        with self._db.connection() as conn, conn.cursor() as cur:
            # One part at a time: an upload of hundreds of MB never sits in memory whole.
            parts = cur.execute(
                "SELECT part FROM import_uploads WHERE upload = %s ORDER BY part", (upload,)
            ).fetchall()
            for (part,) in parts:
                row = cur.execute(
                    "SELECT data FROM import_uploads WHERE upload = %s AND part = %s",
                    (upload, part),
                ).fetchone()
                if row is None:
                    return False  # dropped meanwhile
                target.write(row[0])
                found = True
        return found

    def has_upload(self, upload: str) -> bool:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM import_uploads WHERE upload = %s LIMIT 1", (upload,)
            ).fetchone()
        return row is not None

    def drop_upload(self, upload: str) -> None:
        with self._db.connection() as conn:
            conn.execute("DELETE FROM import_uploads WHERE upload = %s", (upload,))

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
                f"SELECT {_COLUMNS} FROM import_jobs WHERE state IN ('queued', 'running')"
                " ORDER BY seq",
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

    def progress(
        self,
        job_id: str,
        progress: dict[str, int],
        report: dict[str, Any],
        worker: str | None = None,
    ) -> bool:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET progress = %s, report = %s"
                " WHERE id = %s AND state = 'running' AND (%s::text IS NULL OR worker = %s)"
                " RETURNING cancel_requested",
                (Jsonb(progress), Jsonb(report), job_id, worker, worker),
            ).fetchone()
        if row is None:
            return worker is not None  # not this worker's any more: stop
        return bool(row[0])

    def finish(
        self,
        job_id: str,
        state: JobState,
        progress: dict[str, int],
        report: dict[str, Any] | None,
        error: str | None = None,
        worker: str | None = None,
    ) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET state = %s, finished_at = %s, progress = %s,"
                " report = %s, error = %s, claimed_by = NULL, claimed_until = NULL"
                " WHERE id = %s AND state <> ALL(%s) AND (%s::text IS NULL OR worker = %s)"
                f" RETURNING {_COLUMNS}",
                (
                    state,
                    _now(),
                    Jsonb(progress),
                    Jsonb(report) if report is not None else None,
                    error,
                    job_id,
                    _DONE,
                    worker,
                    worker,
                ),
            ).fetchone()
        return _job(row) if row else None

    def request_cancel(self, job_id: str) -> ImportJob | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "UPDATE import_jobs SET cancel_requested = true,"
                " state = CASE WHEN state IN ('staged', 'queued') THEN 'cancelled' ELSE state END,"
                " finished_at = CASE WHEN state IN ('staged', 'queued') THEN %s"
                " ELSE finished_at END"
                f" WHERE id = %s RETURNING {_COLUMNS}",
                (_now(), job_id),
            ).fetchone()
        return _job(row) if row else None

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def keep_upload(conn: Connection, upload: str, path: Path) -> bool:
    """Keep the bytes of the file at ``path`` as the upload ``upload`` (1 MiB a row), in the
    caller's transaction, unless they are kept already or there is no such file. Returns
    whether they were added."""
    kept = conn.execute("SELECT 1 FROM import_uploads WHERE upload = %s LIMIT 1", (upload,))
    if kept.fetchone() is not None or not path.is_file():
        return False
    with path.open("rb") as handle, conn.cursor() as cur:
        part = 0
        while data := handle.read(_PART):
            cur.execute(
                "INSERT INTO import_uploads (upload, part, data) VALUES (%s, %s, %s)",
                (upload, part, data),
            )
            part += 1
    return True


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
        submitted_by=Actor(**row[13]) if row[13] else None,
        attempts=int(row[14]),
        preview=row[15],
    )
