"""The one place stores are built from settings: SQLite files under the data directory, or
PostgreSQL when ``SIMATCH_DATABASE_URL`` is set. ``open_state`` opens the backend once per
process (for PostgreSQL: the pool, and the schema migrated); each ``open_*`` builds one store
on it. A new store adds one function here with both branches (docs/stores.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simatch.config import FeedbackSettings, IndexSettings, StateSettings
from simatch.domain.alerts import AlertStore
from simatch.domain.audit import AuditLog
from simatch.domain.imports import ImportJobStore
from simatch.domain.reviews import ReviewLog
from simatch.domain.sessions import SessionStore
from simatch.domain.sources import SyncStateStore
from simatch.domain.stores import (
    ConversationStates,
    DuplicateStore,
    EmbeddingCache,
    FeedbackLog,
    GapLog,
    KeyStore,
    RateBuckets,
)
from simatch.stores.boosts import BoostRule

if TYPE_CHECKING:
    from simatch.stores.postgres.database import Database


# Under the data directory: uploads waiting for their import job (on one machine; replicas keep
# them in the database).
UPLOADS_DIR = "uploads"


@dataclass
class StateBackend:
    """Where this process keeps its state: ``database`` (shared PostgreSQL) when set, else
    SQLite files under ``data_dir``."""

    data_dir: Path
    database: Database | None = None

    @property
    def name(self) -> str:
        return "postgresql" if self.database is not None else "sqlite"

    def ping(self) -> bool:
        """The shared database answers (SQLite files are always there)."""
        if self.database is None:
            return True
        with self.database.connection() as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    @contextmanager
    def exclusive(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        """``ExclusiveWork``: an advisory lock on PostgreSQL (every replica), a file lock
        under the data directory on one machine. Yields whether it was taken."""
        if self.database is not None:
            with self.database.advisory_lock(name, wait=wait) as taken:
                yield taken
            return
        from simatch.stores.sqlite.locks import file_lock, lock_path

        with file_lock(lock_path(self.data_dir, name), wait=wait) as taken:
            yield taken

    def close(self) -> None:
        if self.database is not None:
            self.database.close()


def open_state(index: IndexSettings, state: StateSettings) -> StateBackend:
    """The backend; for PostgreSQL the schema is brought up to date first (safe when several
    replicas start at once: they take turns under an advisory lock)."""
    url = state.postgres_url
    if url is None:
        return StateBackend(index.data_dir)
    from simatch.stores.postgres.database import Database
    from simatch.stores.postgres.migrations import migrate
    from simatch.stores.postgres.schema import ALL

    database = Database(url, max_size=state.database_pool_size, timeout=state.database_timeout)
    try:
        migrate(database, ALL)
    except BaseException:
        database.close()
        raise
    return StateBackend(index.data_dir, database)


def open_feedback_log(
    backend: StateBackend, feedback: FeedbackSettings, model_id: str, gaps: GapLog | None = None
) -> FeedbackLog:
    """``gaps``: where SQLite's log sends gap notes (PostgreSQL writes them itself, with the
    match, into the same database)."""
    rule = BoostRule(
        feedback.feedback_min_similarity,
        feedback.feedback_step,
        feedback.feedback_max_boost,
        feedback.feedback_enabled,
    )
    if backend.database is not None:
        from simatch.stores.postgres.feedback import PgFeedbackLog

        return PgFeedbackLog(backend.database, model_id, rule, feedback.match_log_size)
    from simatch.stores.sqlite.feedback import FILE_NAME, SqliteFeedbackLog

    path = backend.data_dir / FILE_NAME
    return SqliteFeedbackLog(path, model_id, rule, feedback.match_log_size, gaps=gaps)


def open_import_jobs(backend: StateBackend) -> ImportJobStore:
    if backend.database is not None:
        from simatch.stores.postgres.import_jobs import PgImportJobStore

        return PgImportJobStore(backend.database)
    from simatch.stores.sqlite.import_jobs import FILE_NAME, SqliteImportJobStore

    return SqliteImportJobStore(backend.data_dir / FILE_NAME)


def open_gap_log(backend: StateBackend) -> GapLog:
    if backend.database is not None:
        from simatch.stores.postgres.gaps import PgGapLog

        return PgGapLog(backend.database)
    from simatch.stores.sqlite.gaps import FILE_NAME, SqliteGapLog

    return SqliteGapLog(backend.data_dir / FILE_NAME)


def open_key_store(backend: StateBackend) -> KeyStore:
    if backend.database is not None:
        from simatch.stores.postgres.keys import PgKeyStore

        return PgKeyStore(backend.database)
    from simatch.stores.sqlite.keys import FILE_NAME, SqliteKeyStore

    return SqliteKeyStore(backend.data_dir / FILE_NAME)


def open_duplicate_store(backend: StateBackend) -> DuplicateStore:
    if backend.database is not None:
        from simatch.stores.postgres.duplicates import PgDuplicateStore

        return PgDuplicateStore(backend.database)
    from simatch.stores.sqlite.duplicates import FILE_NAME, SqliteDuplicateStore

    return SqliteDuplicateStore(backend.data_dir / FILE_NAME)


def open_rate_buckets(backend: StateBackend) -> RateBuckets:
    """Shared buckets on PostgreSQL; in this process's memory on one machine (one process
    serves an embedded index)."""
    if backend.database is not None:
        from simatch.stores.postgres.rate_buckets import PgRateBuckets

        return PgRateBuckets(backend.database)
    from simatch.stores.memory import MemoryRateBuckets

    return MemoryRateBuckets()


def open_conversation_states(
    backend: StateBackend, ttl: float, max_threads: int
) -> ConversationStates:
    if backend.database is not None:
        from simatch.stores.postgres.conversations import PgConversationStates

        return PgConversationStates(backend.database, ttl, max_threads)
    from simatch.stores.sqlite.conversations import FILE_NAME, SqliteConversationStates

    return SqliteConversationStates(backend.data_dir / FILE_NAME, ttl, max_threads)


def open_embedding_cache(backend: StateBackend) -> EmbeddingCache:
    """One cache serves every collection (its keys name the model)."""
    if backend.database is not None:
        from simatch.stores.postgres.embedding_cache import PgEmbeddingCache

        return PgEmbeddingCache(backend.database)
    return open_embedding_cache_file(backend.data_dir / "embedding-cache.sqlite")


def open_embedding_cache_file(path: Path | None) -> EmbeddingCache:
    """A SQLite cache at ``path`` (``None``: in memory): the evaluation harness's own."""
    from simatch.stores.sqlite.embedding_cache import SqliteEmbeddingCache

    return SqliteEmbeddingCache(path)


def open_sync_state_store(backend: StateBackend) -> SyncStateStore:
    if backend.database is not None:
        from simatch.stores.postgres.sync_state import PgSyncStateStore

        return PgSyncStateStore(backend.database)
    from simatch.stores.sqlite.sync_state import FILE_NAME, SqliteSyncStateStore

    return SqliteSyncStateStore(backend.data_dir / FILE_NAME)


def open_audit_log(backend: StateBackend) -> AuditLog:
    if backend.database is not None:
        from simatch.stores.postgres.audit import PgAuditLog

        return PgAuditLog(backend.database)
    from simatch.stores.sqlite.audit import FILE_NAME, SqliteAuditLog

    return SqliteAuditLog(backend.data_dir / FILE_NAME)


def open_session_store(backend: StateBackend) -> SessionStore:
    if backend.database is not None:
        from simatch.stores.postgres.sessions import PgSessionStore

        return PgSessionStore(backend.database)
    from simatch.stores.sqlite.sessions import FILE_NAME, SqliteSessionStore

    return SqliteSessionStore(backend.data_dir / FILE_NAME)


def open_review_log(backend: StateBackend) -> ReviewLog:
    if backend.database is not None:
        from simatch.stores.postgres.reviews import PgReviewLog

        return PgReviewLog(backend.database)
    from simatch.stores.sqlite.reviews import FILE_NAME, SqliteReviewLog

    return SqliteReviewLog(backend.data_dir / FILE_NAME)


def open_alert_store(backend: StateBackend) -> AlertStore:
    """Subscriptions, detection journal, alert history and outbox, in one store so that
    detection writes its decision in one transaction."""
    if backend.database is not None:
        from simatch.stores.postgres.alerts import PgAlertStore

        return PgAlertStore(backend.database)
    from simatch.stores.sqlite.alerts import FILE_NAME, SqliteAlertStore

    return SqliteAlertStore(backend.data_dir / FILE_NAME)
