"""Near-duplicate flags in PostgreSQL (``DuplicateStore``), kept for staff; never merged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from simatch.domain.stores import DuplicateFlag, DuplicatePair
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "duplicates",
    (
        """CREATE TABLE duplicates (
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            found TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (a, b)
        );
        CREATE INDEX duplicates_b ON duplicates (b);
        CREATE INDEX duplicates_score ON duplicates (score DESC)""",
    ),
)


class PgDuplicateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def replace(self, keys: Sequence[str], flags: Sequence[DuplicateFlag]) -> None:
        """Forget the flags of ``keys`` and keep ``flags``, in one transaction."""
        now = datetime.now(UTC)
        pairs: dict[tuple[str, str], float] = {}
        for f in flags:
            a, b = sorted((f.key, f.other))
            pairs[(a, b)] = f.score  # the last flag of a pair wins, as in SQLite
        with self._db.transaction() as conn:
            if keys:
                conn.execute(
                    "DELETE FROM duplicates WHERE a = ANY(%(k)s) OR b = ANY(%(k)s)",
                    {"k": list(keys)},
                )
            if pairs:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO duplicates (a, b, score, found) VALUES (%s, %s, %s, %s)"
                        " ON CONFLICT (a, b) DO UPDATE SET score = EXCLUDED.score,"
                        " found = EXCLUDED.found",
                        [(a, b, score, now) for (a, b), score in pairs.items()],
                    )

    def forget(self, keys: Sequence[str]) -> None:
        """Drop the flags of deleted records."""
        self.replace(keys, [])

    def list(self, min_score: float = 0.0, limit: int = 1000) -> list[DuplicatePair]:
        """Highest score first."""
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT a, b, score, found FROM duplicates WHERE score >= %s"
                " ORDER BY score DESC, a, b LIMIT %s",
                (min_score, limit),
            ).fetchall()
        return [DuplicatePair(a, b, float(score), found) for a, b, score, found in rows]

    def close(self) -> None:
        """The database is shared and closed by its owner."""
