"""Every PostgreSQL store's migrations, applied together at start (``migrations.migrate``).
A new store adds its ``MIGRATIONS`` here (docs/stores.md)."""

from __future__ import annotations

from simatch.stores.postgres import (
    alerts,
    audit,
    conversations,
    duplicates,
    embedding_cache,
    feedback,
    gaps,
    import_jobs,
    keys,
    rate_buckets,
    reviews,
    sessions,
    sync_state,
)
from simatch.stores.postgres.migrations import Migrations

ALL: tuple[Migrations, ...] = (
    keys.MIGRATIONS,
    feedback.MIGRATIONS,
    gaps.MIGRATIONS,
    duplicates.MIGRATIONS,
    rate_buckets.MIGRATIONS,
    conversations.MIGRATIONS,
    embedding_cache.MIGRATIONS,
    sync_state.MIGRATIONS,
    audit.MIGRATIONS,
    sessions.MIGRATIONS,
    reviews.MIGRATIONS,
    alerts.MIGRATIONS,
    import_jobs.MIGRATIONS,
)
