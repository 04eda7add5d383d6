"""The sync state of external sources in SQLite (``SyncStateStore``): runs, per-item state and
the staff-edited profiles."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from simatch.domain.sources import ItemState, Profile, SyncCounts, SyncRun
from simatch.stores.sqlite.connection import connect

FILE_NAME = "sources.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  counts TEXT NOT NULL,
  error TEXT,
  rejections TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS sync_runs_source ON sync_runs (source, id);
CREATE TABLE IF NOT EXISTS source_items (
  source TEXT NOT NULL,
  source_id TEXT NOT NULL,
  key TEXT NOT NULL,
  checksum TEXT NOT NULL,
  remap_after TEXT,
  withdrawn INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, source_id)
);
CREATE TABLE IF NOT EXISTS source_profiles (
  source TEXT PRIMARY KEY,
  profile TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
"""


class SqliteSyncStateStore:
    """SQLite file under the data directory; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, source: str, now: datetime) -> SyncRun:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE sync_runs SET status = 'interrupted'"
                " WHERE source = ? AND status = 'running'",
                (source,),
            )
            cur = self._db.execute(
                "INSERT INTO sync_runs (source, started_at, status, counts) VALUES (?, ?, ?, ?)",
                (source, now.isoformat(), "running", json.dumps(SyncCounts().as_dict())),
            )
        return SyncRun(id=int(cur.lastrowid or 0), source=source, started_at=now)

    def save_run(self, run: SyncRun) -> None:
        with self._lock, self._db:
            self._db.execute(
                "UPDATE sync_runs SET finished_at = ?, status = ?, counts = ?, error = ?,"
                " rejections = ? WHERE id = ?",
                (
                    run.finished_at.isoformat() if run.finished_at else None,
                    run.status,
                    json.dumps(run.counts.as_dict()),
                    run.error,
                    json.dumps(run.rejections, ensure_ascii=False),
                    run.id,
                ),
            )

    def last_run(self, source: str) -> SyncRun | None:
        runs = self.runs(source, 1)
        return runs[0] if runs else None

    def runs(self, source: str, limit: int = 10) -> list[SyncRun]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, source, started_at, finished_at, status, counts, error, rejections"
                " FROM sync_runs WHERE source = ? ORDER BY id DESC LIMIT ?",
                (source, limit),
            ).fetchall()
        return [_run(row) for row in rows]

    # -- items ------------------------------------------------------------------------------

    def items(self, source: str) -> dict[str, ItemState]:
        with self._lock:
            rows = self._db.execute(
                "SELECT source, source_id, key, checksum, remap_after, withdrawn"
                " FROM source_items WHERE source = ?",
                (source,),
            ).fetchall()
        return {
            row[1]: ItemState(
                source=row[0],
                source_id=row[1],
                key=row[2],
                checksum=row[3],
                remap_after=date.fromisoformat(row[4]) if row[4] else None,
                withdrawn=bool(row[5]),
            )
            for row in rows
        }

    def put_items(self, states: list[ItemState]) -> None:
        if not states:
            return
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO source_items (source, source_id, key, checksum, remap_after,"
                " withdrawn) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, source_id) DO UPDATE"
                " SET key = excluded.key, checksum = excluded.checksum,"
                " remap_after = excluded.remap_after, withdrawn = excluded.withdrawn",
                [
                    (
                        s.source,
                        s.source_id,
                        s.key,
                        s.checksum,
                        s.remap_after.isoformat() if s.remap_after else None,
                        int(s.withdrawn),
                    )
                    for s in states
                ],
            )

    # -- profiles ---------------------------------------------------------------------------

    def profile(self, source: str) -> Profile | None:
        with self._lock:
            row = self._db.execute(
                "SELECT profile FROM source_profiles WHERE source = ?", (source,)
            ).fetchone()
        if row is None:
            return None
        profile: Profile = json.loads(row[0])
        return profile

    def set_profile(self, source: str, profile: Profile | None) -> None:
        with self._lock, self._db:
            if profile is None:
                self._db.execute("DELETE FROM source_profiles WHERE source = ?", (source,))
                return
            self._db.execute(
                "INSERT INTO source_profiles (source, profile, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET profile = excluded.profile,"
                " updated_at = excluded.updated_at",
                (
                    source,
                    json.dumps(profile, ensure_ascii=False, sort_keys=True),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _run(row: tuple[Any, ...]) -> SyncRun:
    counts = SyncCounts(**{k: int(v) for k, v in json.loads(row[5]).items()})
    return SyncRun(
        id=int(row[0]),
        source=row[1],
        started_at=datetime.fromisoformat(row[2]),
        finished_at=datetime.fromisoformat(row[3]) if row[3] else None,
        status=row[4],
        counts=counts,
        error=row[6],
        rejections=json.loads(row[7] or "[]"),
    )
