"""The embedding cache in PostgreSQL (``EmbeddingCache``): a text embedded by one replica (or
an import job on another machine) is not embedded again by any other."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simatch.domain.ports import Vector
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.migrations import Migrations

MIGRATIONS = Migrations(
    "embedding_cache",
    (
        """CREATE TABLE embedding_cache (
            key TEXT PRIMARY KEY,
            dim INTEGER NOT NULL,
            vec BYTEA NOT NULL
        )""",
    ),
)


class PgEmbeddingCache:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]:
        if not keys:
            return {}
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT key, dim, vec FROM embedding_cache WHERE key = ANY(%s)", (list(keys),)
            ).fetchall()
        return {key: np.frombuffer(blob, dtype=np.float32).reshape(dim) for key, dim, blob in rows}

    def put_many(self, items: dict[str, Vector]) -> None:
        if not items:
            return
        rows = [(k, int(v.shape[0]), np.asarray(v, np.float32).tobytes()) for k, v in items.items()]
        # A key is a hash of model and text: the vector under it never changes.
        with self._db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO embedding_cache (key, dim, vec) VALUES (%s, %s, %s)"
                " ON CONFLICT (key) DO NOTHING",
                rows,
            )

    def close(self) -> None:
        """The database is shared and closed by its owner."""
