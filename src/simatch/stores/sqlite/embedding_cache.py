"""The embedding cache in SQLite (``EmbeddingCache``): content-hash keys, so an unchanged
text is never embedded twice by the same model."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simatch.domain.ports import Vector
from simatch.stores.sqlite.connection import connect

FILE_NAME = "embedding-cache.sqlite"


class SqliteEmbeddingCache:
    """SQLite file (one serves every collection: keys name the model); ``None``: in memory."""

    def __init__(self, path: Path | None) -> None:
        self._db = connect(path)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)"
            )

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]:
        found: dict[str, Vector] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, dim, vec FROM vectors WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, dim, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).reshape(dim)
        return found

    def put_many(self, items: dict[str, Vector]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, dim, vec) VALUES (?, ?, ?)",
                [
                    (k, int(v.shape[0]), np.asarray(v, np.float32).tobytes())
                    for k, v in items.items()
                ],
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
