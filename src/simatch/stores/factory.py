"""The one place stores are built from settings. SQLite files under the data directory today;
another backend (PostgreSQL) is one more branch in each function."""

from __future__ import annotations

from simatch.config import FeedbackSettings, IndexSettings
from simatch.domain.stores import DuplicateStore, FeedbackLog, GapLog, KeyStore
from simatch.stores.boosts import BoostRule


def open_feedback_log(
    index: IndexSettings, feedback: FeedbackSettings, model_id: str
) -> FeedbackLog:
    from simatch.stores.sqlite.feedback import FILE_NAME, SqliteFeedbackLog

    rule = BoostRule(
        feedback.feedback_min_similarity,
        feedback.feedback_step,
        feedback.feedback_max_boost,
        feedback.feedback_enabled,
    )
    path = index.data_dir / FILE_NAME
    return SqliteFeedbackLog(path, model_id, rule, feedback.match_log_size)


def open_gap_log(index: IndexSettings) -> GapLog:
    from simatch.stores.sqlite.gaps import FILE_NAME, SqliteGapLog

    return SqliteGapLog(index.data_dir / FILE_NAME)


def open_key_store(index: IndexSettings) -> KeyStore:
    from simatch.stores.sqlite.keys import FILE_NAME, SqliteKeyStore

    return SqliteKeyStore(index.data_dir / FILE_NAME)


def open_duplicate_store(index: IndexSettings) -> DuplicateStore:
    from simatch.stores.sqlite.duplicates import FILE_NAME, SqliteDuplicateStore

    return SqliteDuplicateStore(index.data_dir / FILE_NAME)
