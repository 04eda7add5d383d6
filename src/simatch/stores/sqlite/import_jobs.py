"""Import jobs in SQLite (``ImportJobStore``): one row per job, progress and report as JSON."""

from __future__ import annotations

import builtins
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simatch.domain.audit import Actor
from simatch.domain.imports import FINISHED, ImportJob, JobState
from simatch.stores.sqlite.connection import connect

FILE_NAME = "import-jobs.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS import_jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  format TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  progress TEXT NOT NULL DEFAULT '{}',
  report TEXT,
  error TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  worker TEXT,
  upload TEXT NOT NULL,
  submitted_by TEXT,
  preview TEXT
)
"""
_COLUMNS = (
    "id, source, format, state, created_at, started_at, finished_at, progress, report, error,"
    " cancel_requested, worker, upload, submitted_by, preview"
)
_DONE = ", ".join(f"'{s}'" for s in FINISHED)


class SqliteImportJobStore:
    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(import_jobs)")}
            for column in ("submitted_by", "preview"):  # a file from before they were kept
                if column not in columns:
                    self._db.execute(f"ALTER TABLE import_jobs ADD COLUMN {column} TEXT")

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
        submitter = json.dumps(vars(actor)) if actor is not None else None
        state = "queued" if preview is None else "staged"
        shown = json.dumps(preview) if preview is not None else None
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO import_jobs (id, source, format, state, created_at, worker, upload,"
                " submitted_by, preview) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, source, format, state, _now(), worker, upload, submitter, shown),
            )
        found = self.get(job_id)
        assert found is not None
        return found

    def get(self, job_id: str) -> ImportJob | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM import_jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return _job(row) if row else None

    def list(self, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM import_jobs ORDER BY seq DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_job(r) for r in rows]

    def unfinished(self) -> builtins.list[ImportJob]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM import_jobs WHERE state IN ('queued', 'running')"
                " ORDER BY seq"
            ).fetchall()
        return [_job(r) for r in rows]

    def queue(self, job_id: str) -> ImportJob | None:
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE import_jobs SET state = 'queued' WHERE id = ? AND state = 'staged'",
                (job_id,),
            )
        return self.get(job_id) if cur.rowcount else None

    def start(self, job_id: str) -> ImportJob | None:
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE import_jobs SET state = 'running', started_at = ?"
                " WHERE id = ? AND state = 'queued'",
                (_now(), job_id),
            )
        return self.get(job_id) if cur.rowcount else None

    def progress(
        self,
        job_id: str,
        progress: dict[str, int],
        report: dict[str, Any],
        worker: str | None = None,
    ) -> bool:
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE import_jobs SET progress = ?, report = ?"
                " WHERE id = ? AND state = 'running' AND (? IS NULL OR worker = ?)",
                (json.dumps(progress), json.dumps(report), job_id, worker, worker),
            )
            row = self._db.execute(
                "SELECT cancel_requested FROM import_jobs WHERE id = ?", (job_id,)
            ).fetchone()
        if worker is not None and cur.rowcount == 0:
            return True  # not this worker's any more: stop
        return bool(row and row[0])

    def finish(
        self,
        job_id: str,
        state: JobState,
        progress: dict[str, int],
        report: dict[str, Any] | None,
        error: str | None = None,
        worker: str | None = None,
    ) -> ImportJob | None:
        with self._lock, self._db:
            cur = self._db.execute(
                "UPDATE import_jobs SET state = ?, finished_at = ?, progress = ?, report = ?,"
                f" error = ? WHERE id = ? AND state NOT IN ({_DONE}) AND (? IS NULL OR worker = ?)",
                (
                    state,
                    _now(),
                    json.dumps(progress),
                    json.dumps(report) if report is not None else None,
                    error,
                    job_id,
                    worker,
                    worker,
                ),
            )
        return self.get(job_id) if cur.rowcount else None

    def request_cancel(self, job_id: str) -> ImportJob | None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE import_jobs SET state = 'cancelled', finished_at = ?, cancel_requested = 1"
                " WHERE id = ? AND state IN ('staged', 'queued')",
                (_now(), job_id),
            )
            self._db.execute(
                "UPDATE import_jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'",
                (job_id,),
            )
        return self.get(job_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _job(row: tuple[Any, ...]) -> ImportJob:
    created = _when(row[4])
    assert created is not None
    return ImportJob(
        id=row[0],
        source=row[1],
        format=row[2],
        state=row[3],
        created_at=created,
        started_at=_when(row[5]),
        finished_at=_when(row[6]),
        progress=json.loads(row[7] or "{}"),
        report=json.loads(row[8]) if row[8] else None,
        error=row[9],
        cancel_requested=bool(row[10]),
        worker=row[11],
        upload=row[12],
        submitted_by=Actor(**json.loads(row[13])) if row[13] else None,
        preview=json.loads(row[14]) if row[14] else None,
    )
