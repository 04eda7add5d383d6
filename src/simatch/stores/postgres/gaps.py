"""Questions without a good match in PostgreSQL (``GapLog``), for staff; never who asked."""

from __future__ import annotations

from datetime import UTC, datetime

from simatch.domain.stores import Gap
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "gaps",
    (
        """CREATE TABLE gaps (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL,
            platform TEXT NOT NULL,
            language TEXT NOT NULL,
            text TEXT NOT NULL,
            regions TEXT[] NOT NULL,
            match_id TEXT
        )""",
    ),
)


class PgGapLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        text: str,
        language: str,
        platform: str,
        regions: tuple[str, ...] = (),
        match_id: str | None = None,
    ) -> int:
        now = datetime.now(UTC).replace(microsecond=0)
        with self._db.connection() as conn:
            row = conn.execute(
                "INSERT INTO gaps (created_at, platform, language, text, regions, match_id)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (now, platform, language, text, list(regions), match_id),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def list(self, limit: int = 100, offset: int = 0) -> list[Gap]:
        """Newest first."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT id, created_at, platform, language, text, regions, match_id FROM gaps"
                " ORDER BY id DESC LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [
            Gap(
                id=int(row[0]),
                created_at=row[1],
                platform=row[2],
                language=row[3],
                text=row[4],
                regions=tuple(row[5]),
                match_id=row[6],
            )
            for row in rows
        ]

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM gaps").fetchone()
        return int(row[0]) if row else 0

    def per_day(self, since: datetime) -> dict[str, int]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) FROM gaps"
                " WHERE created_at >= %s GROUP BY 1",
                (since,),
            ).fetchall()
        return {str(day): int(n) for day, n in rows}

    def close(self) -> None:
        """The database is shared and closed by its owner."""
