"""Questions without a good match in SQLite (``GapLog``), for staff.

It keeps the question, its language and region filter, where it was asked and the time;
never who asked. Staff read it with ``simatch gaps`` or ``GET /v1/gaps``. (The file keeps its
first name, from when only the chat assistant wrote it.)
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from simatch.domain.stores import Gap
from simatch.stores.sqlite.connection import connect

FILE_NAME = "chat-gaps.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gaps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  platform TEXT NOT NULL,
  language TEXT NOT NULL,
  text TEXT NOT NULL,
  regions TEXT NOT NULL,
  match_id TEXT
)
"""


class SqliteGapLog:
    """SQLite file under the data directory; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def record(
        self,
        text: str,
        language: str,
        platform: str,
        regions: tuple[str, ...] = (),
        match_id: str | None = None,
    ) -> int:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO gaps (created_at, platform, language, text, regions, match_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now, platform, language, text, json.dumps(list(regions)), match_id),
            )
            return int(cur.lastrowid or 0)

    def list(self, limit: int = 100, offset: int = 0) -> list[Gap]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created_at, platform, language, text, regions, match_id FROM gaps"
                " ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [
            Gap(
                id=row[0],
                created_at=datetime.fromisoformat(row[1]),
                platform=row[2],
                language=row[3],
                text=row[4],
                regions=tuple(json.loads(row[5])),
                match_id=row[6],
            )
            for row in rows
        ]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM gaps").fetchone()[0])

    def per_day(self, since: datetime) -> dict[str, int]:
        stamp = since.astimezone(UTC).isoformat(timespec="seconds")
        with self._lock:
            rows = self._db.execute(
                "SELECT substr(created_at, 1, 10), count(*) FROM gaps WHERE created_at >= ?"
                " GROUP BY 1",
                (stamp,),
            ).fetchall()
        return {str(day): int(n) for day, n in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
