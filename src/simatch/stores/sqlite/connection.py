"""Opening a SQLite file that a server and a CLI process share."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def connect(path: Path | None) -> sqlite3.Connection:
    """WAL, so that `simatch keys revoke` can write while the server reads."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 5000")
    if path is not None:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    return db


def to_datetime(stamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None
