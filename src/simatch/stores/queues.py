"""A queue of work in a store's table, claimed with a lease (``sqlite/claims.py``,
``postgres/claims.py``: the same rules on both backends)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Queue:
    """A table of work. ``ready`` and ``order`` are SQL over its columns (trusted: written
    in code, never from input); ``id`` is its primary key column. The table carries the
    backend's ``LEASE_COLUMNS``."""

    table: str
    ready: str = "true"
    order: str = "id"
    id: str = "id"
