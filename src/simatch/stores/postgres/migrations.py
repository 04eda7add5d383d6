"""Versioned schema migrations, one sequence per store, applied at start.

Each store module declares ``MIGRATIONS = Migrations("name", (step1, step2, ...))``: step n
brings the store's tables to version n. A landed step is never edited; a change is a new
step appended. ``migrate`` applies the missing steps of every store in one transaction under
an advisory lock, so replicas that start at once wait for each other and each step runs once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from simatch.stores.postgres.database import Database, lock_key

_LOCK = "simatch:migrate"
_TABLE = """CREATE TABLE IF NOT EXISTS simatch_schema (
    store TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migrations:
    store: str
    steps: tuple[str, ...]  # SQL; a step may hold several statements separated by ';'


def migrate(db: Database, all_migrations: Sequence[Migrations]) -> dict[str, int]:
    """Apply what is missing; returns the steps applied per store (empty when up to date).

    A database newer than this code (a store at a version it does not know) is left alone:
    an older replica still running during a rolling upgrade must not fail to start."""
    applied: dict[str, int] = {}
    with db.transaction() as conn:
        # Transaction-scoped: released at commit, or when a dying process's connection drops.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(_LOCK),))
        conn.execute(_TABLE)
        versions = dict(conn.execute("SELECT store, version FROM simatch_schema").fetchall())
        for migrations in all_migrations:
            current = int(versions.get(migrations.store, 0))
            missing = migrations.steps[current:]
            for step in missing:
                conn.execute(step.encode())  # bytes: several statements, no parameters
            if missing:
                conn.execute(
                    "INSERT INTO simatch_schema (store, version) VALUES (%s, %s) "
                    "ON CONFLICT (store) DO UPDATE SET version = EXCLUDED.version,"
                    " applied_at = now()",
                    (migrations.store, len(migrations.steps)),
                )
                applied[migrations.store] = len(missing)
    return applied


def versions(db: Database) -> dict[str, int]:
    """store -> schema version applied (for `simatch info` and tests)."""
    with db.connection() as conn:
        if conn.execute("SELECT to_regclass('simatch_schema')").fetchone() == (None,):
            return {}
        rows = conn.execute("SELECT store, version FROM simatch_schema").fetchall()
    return {str(store): int(version) for store, version in rows}
