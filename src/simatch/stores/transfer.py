"""``simatch migrate-state``: copy an embedded installation's SQLite stores into PostgreSQL.

Each store is one ``Copy``: what to read from its SQLite file and how to write a row into
its PostgreSQL table so that copying again adds nothing (a primary key with ON CONFLICT, or
NOT EXISTS on what makes a row itself where the table has only a generated id). Each store
is copied in one transaction. Rate-limit buckets live in memory on one machine and are not
copied (they refill within a minute). A new store with a SQLite file adds its ``Copy`` to
``COPIES`` (docs/stores.md); the alert store's tables and the import jobs are here too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simatch.stores.factory import UPLOADS_DIR
from simatch.stores.postgres.database import Database
from simatch.stores.postgres.import_jobs import keep_upload
from simatch.stores.postgres.migrations import migrate
from simatch.stores.postgres.schema import ALL

Row = tuple[Any, ...]
_BATCH = 1000


def _same(row: Row) -> Row:
    return row


@dataclass(frozen=True)
class Copy:
    store: str
    file: str  # under the data directory
    select: str  # SQLite
    insert: str  # PostgreSQL, one row, idempotent
    convert: Callable[[Row], Row] = _same  # SQLite row -> insert parameters
    before: str | None = None  # PostgreSQL, once, in the same transaction
    prepare: Callable[[Path], None] | None = None  # brings an older SQLite file up to date


def _feedback(row: Row) -> Row:
    # The row's values, then what identifies it for NOT EXISTS.
    match_id, item_id, kind, verdict, _reason, source, created = row
    return (*row, match_id, item_id, kind, verdict, source, created)


def _gap(row: Row) -> Row:
    created, platform, language, text, regions, match_id = row
    return (created, platform, language, text, json.loads(regions), match_id,
            created, platform, text, match_id)  # fmt: skip


_CORE_COPIES: tuple[Copy, ...] = (
    Copy(
        "api_keys",
        "keys.sqlite",
        "SELECT id, name, scopes, hash, created, last_used, revoked FROM api_keys",
        "INSERT INTO api_keys (id, name, scopes, hash, created, last_used, revoked) VALUES"
        " (%s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s), to_timestamp(%s))"
        " ON CONFLICT DO NOTHING",
    ),
    Copy(
        "matches",
        "feedback.sqlite",
        "SELECT match_id, created, model_id, language, vector, items, has_feedback FROM matches",
        "INSERT INTO matches (match_id, created, model_id, language, vector, items,"
        " has_feedback) VALUES (%s, to_timestamp(%s), %s, %s, %s, %s::jsonb, %s)"
        " ON CONFLICT (match_id) DO UPDATE"
        " SET has_feedback = matches.has_feedback OR EXCLUDED.has_feedback"
        " WHERE NOT matches.has_feedback AND EXCLUDED.has_feedback",
        lambda r: (*r[:6], bool(r[6])),
    ),
    Copy(
        "feedback",
        "feedback.sqlite",
        "SELECT match_id, item_id, item_kind, verdict, reason, source, created FROM feedback"
        " ORDER BY id",
        "INSERT INTO feedback (match_id, item_id, item_kind, verdict, reason, source, created,"
        " version) SELECT %s, %s, %s, %s, %s, %s, to_timestamp(%s),"
        " (SELECT version FROM feedback_version)"
        " WHERE NOT EXISTS (SELECT 1 FROM feedback WHERE match_id = %s AND item_id = %s"
        " AND item_kind = %s AND verdict = %s AND source = %s AND created = to_timestamp(%s))",
        _feedback,
        # Replicas fetch votes newer than the version they have: the copied ones are.
        before="UPDATE feedback_version SET version = version + 1",
    ),
    Copy(
        "gaps",
        "chat-gaps.sqlite",
        "SELECT created_at, platform, language, text, regions, match_id FROM gaps ORDER BY id",
        "INSERT INTO gaps (created_at, platform, language, text, regions, match_id)"
        " SELECT %s::timestamptz, %s, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM gaps"
        " WHERE created_at = %s::timestamptz AND platform = %s AND text = %s"
        " AND match_id IS NOT DISTINCT FROM %s)",
        _gap,
    ),
    Copy(
        "duplicates",
        "duplicates.sqlite",
        "SELECT a, b, score, found FROM duplicates",
        "INSERT INTO duplicates (a, b, score, found) VALUES (%s, %s, %s, to_timestamp(%s))"
        " ON CONFLICT DO NOTHING",
    ),
    Copy(
        "chat_threads",
        "chat-threads.sqlite",
        "SELECT key, state, touched FROM chat_threads",
        "INSERT INTO chat_threads (key, state, touched) VALUES (%s, %s::jsonb, to_timestamp(%s))"
        " ON CONFLICT DO NOTHING",
    ),
    Copy(
        "audit",
        "audit.sqlite",
        "SELECT at, who, key_id, via, action, target, before, after FROM audit ORDER BY id",
        "INSERT INTO audit (at, who, key_id, via, action, target, before, after)"
        " SELECT to_timestamp(%s), %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb"
        " WHERE NOT EXISTS (SELECT 1 FROM audit WHERE at = to_timestamp(%s) AND who = %s"
        " AND action = %s AND target = %s)",
        lambda r: (*r, r[0], r[1], r[4], r[5]),
    ),
    Copy(
        "console_sessions",
        "console-sessions.sqlite",
        "SELECT id_hash, key_id, key_name, csrf, created, expires FROM sessions",
        "INSERT INTO console_sessions (id_hash, key_id, key_name, csrf, created, expires)"
        " VALUES (%s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s)) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "review_decisions",
        "reviews.sqlite",
        "SELECT queue, subject, decision, who, at, detail FROM decisions",
        "INSERT INTO review_decisions (queue, subject, decision, who, at, detail)"
        " VALUES (%s, %s, %s, %s, to_timestamp(%s), %s::jsonb) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "embedding_cache",
        "embedding-cache.sqlite",
        "SELECT key, dim, vec FROM vectors",
        "INSERT INTO embedding_cache (key, dim, vec) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "source_items",
        "sources.sqlite",
        "SELECT source, source_id, key, checksum, remap_after, withdrawn FROM source_items",
        "INSERT INTO source_items (source, source_id, key, checksum, remap_after, withdrawn)"
        " VALUES (%s, %s, %s, %s, %s::date, %s) ON CONFLICT DO NOTHING",
        lambda r: (*r[:5], bool(r[5])),
    ),
    Copy(
        "source_profiles",
        "sources.sqlite",
        "SELECT source, profile, updated_at FROM source_profiles",
        "INSERT INTO source_profiles (source, profile, updated_at)"
        " VALUES (%s, %s::jsonb, %s::timestamptz) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "sync_runs",
        "sources.sqlite",
        "SELECT source, started_at, finished_at, status, counts, error, rejections"
        " FROM sync_runs ORDER BY id",
        "INSERT INTO sync_runs (source, started_at, finished_at, status, counts, error,"
        " rejections) SELECT %s, %s::timestamptz, %s::timestamptz, %s, %s::jsonb, %s, %s::jsonb"
        " WHERE NOT EXISTS (SELECT 1 FROM sync_runs WHERE source = %s"
        " AND started_at = %s::timestamptz)",
        lambda r: (*r, r[0], r[1]),
    ),
)


# Alerts (alerts.sqlite): times are Unix seconds there, documents JSON text.
_ALERTS = "alerts.sqlite"
_ALERT_COPIES: tuple[Copy, ...] = (
    Copy(
        "alert_meta",
        _ALERTS,
        "SELECT name, value FROM meta WHERE name NOT IN ('version', 'bars_epoch')",
        # A secret the database has already (a replica started first) is kept: links it
        # signed keep working; the version counts changes and is bumped below. The needs'
        # bars (and their epoch) are not copied: detection builds them again.
        "INSERT INTO alert_meta (name, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "alert_subscriptions",
        _ALERTS,
        "SELECT id, need_key, channel, frequency, target, secret, language, owner, created,"
        " last_activity, next_digest FROM subscriptions",
        "INSERT INTO alert_subscriptions (id, need_key, channel, frequency, target, secret,"
        " language, owner, created, last_activity, next_digest) VALUES (%s, %s, %s, %s,"
        " %s::jsonb, %s, %s, %s, to_timestamp(%s), to_timestamp(%s), to_timestamp(%s))"
        " ON CONFLICT DO NOTHING",
        # Replicas reload the followed needs when the version moves.
        before="UPDATE alert_meta SET value = (value::bigint + 1)::text WHERE name = 'version'",
    ),
    Copy(
        "alert_journal",  # records not yet checked against the followed needs
        _ALERTS,
        "SELECT key, content_hash, created FROM journal ORDER BY id",
        "INSERT INTO alert_journal (key, content_hash, created)"
        " SELECT %s, %s, to_timestamp(%s) WHERE NOT EXISTS (SELECT 1 FROM alert_journal"
        " WHERE key = %s AND content_hash = %s AND created = to_timestamp(%s))",
        lambda r: (*r, *r),
    ),
    Copy(
        "alert_seen",  # what each need was alerted about (never again)
        _ALERTS,
        "SELECT need_key, record_key, at, how FROM seen",
        "INSERT INTO alert_seen (need_key, record_key, at, how)"
        " VALUES (%s, %s, to_timestamp(%s), %s) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "alert_digest_items",
        _ALERTS,
        "SELECT subscription_id, record_key, item, created FROM digest_items ORDER BY id",
        "INSERT INTO alert_digest_items (subscription_id, record_key, item, created)"
        " SELECT %s, %s, %s::jsonb, to_timestamp(%s) WHERE NOT EXISTS (SELECT 1 FROM"
        " alert_digest_items WHERE subscription_id = %s AND record_key = %s"
        " AND created = to_timestamp(%s))",
        lambda r: (*r, r[0], r[1], r[3]),
    ),
    Copy(
        "alert_reminders",
        _ALERTS,
        "SELECT subscription_id, record_key, item, remind_at FROM reminders",
        "INSERT INTO alert_reminders (subscription_id, record_key, item, remind_at)"
        " VALUES (%s, %s, %s::jsonb, to_timestamp(%s)) ON CONFLICT DO NOTHING",
    ),
    Copy(
        "alert_outbox",  # a delivery keeps its idempotency key: never sent twice
        _ALERTS,
        "SELECT idem, subscription_id, channel, kind, items, state, due, created, sent,"
        " last_error, attempts FROM outbox ORDER BY id",
        "INSERT INTO alert_outbox (idem, subscription_id, channel, kind, items, state, due,"
        " created, sent, last_error, attempts) VALUES (%s, %s, %s, %s, %s::jsonb, %s,"
        " to_timestamp(%s), to_timestamp(%s), to_timestamp(%s), %s, %s)"
        " ON CONFLICT (idem) DO NOTHING",
    ),
)


# A staged job (a console upload previewed, waiting for staff to confirm it) was never
# started, so it keeps its state and preview: staff confirm or cancel it on any replica.
_KEPT_STATES = ("succeeded", "failed", "cancelled", "staged")


def _import_job(row: Row) -> Row:
    state, error = row[3], row[9]
    if state not in _KEPT_STATES:
        state = "failed"
        error = "interrupted: its server stopped before it finished; import the file again"
    # The state twice: the insert leaves a staged job unfinished (no finished_at).
    return (*row[:3], state, *row[4:6], state, *row[6:9], error, bool(row[10]), *row[11:])


def _upgrade_import_jobs(path: Path) -> None:
    """A file from before jobs named their submitter gets the column (as the server would)."""
    from simatch.stores.sqlite.import_jobs import SqliteImportJobStore

    SqliteImportJobStore(path).close()


# Background imports (import-jobs.sqlite): the history, for the console and GET /v1/imports.
# A job left unfinished (queued or running when its server stopped) is copied as failed; a
# staged one stays staged, with its preview.
_IMPORT_JOB_COPY = Copy(
    "import_jobs",
    "import-jobs.sqlite",
    "SELECT id, source, format, state, created_at, started_at, finished_at, progress, report,"
    " error, cancel_requested, worker, upload, submitted_by, preview FROM import_jobs"
    " ORDER BY seq",
    "INSERT INTO import_jobs (id, source, format, state, created_at, started_at, finished_at,"
    " progress, report, error, cancel_requested, worker, upload, submitted_by, preview) VALUES"
    " (%s, %s, %s, %s, %s::timestamptz, %s::timestamptz,"
    " CASE WHEN %s = 'staged' THEN NULL ELSE COALESCE(%s::timestamptz, now()) END,"
    " %s::jsonb, %s::jsonb, %s, %s, %s, %s, %s::jsonb, %s::jsonb) ON CONFLICT (id) DO NOTHING",
    _import_job,
    prepare=_upgrade_import_jobs,
)
COPIES: tuple[Copy, ...] = (*_CORE_COPIES, *_ALERT_COPIES, _IMPORT_JOB_COPY)
# The uploads of jobs that did not succeed (failed, cancelled, interrupted, staged): what a
# retry runs again. On one machine they are files under the data directory's ``uploads/``;
# replicas read them from ``import_uploads``, under the name the job gives them.
_UPLOADS = "import_uploads"
_UPLOADS_SELECT = "SELECT upload FROM import_jobs WHERE state != 'succeeded' ORDER BY seq"


@dataclass(frozen=True)
class Copied:
    store: str
    read: int  # rows in the SQLite store
    added: int  # rows that were not in PostgreSQL yet


def copy_state(
    data_dir: Path, url: str, copies: Sequence[Copy] = COPIES, timeout: float = 10.0
) -> list[Copied]:
    """Copy every SQLite store under ``data_dir`` into the database at ``url`` (its schema
    migrated first). Safe to run again: what is there already is not added twice."""
    db = Database(url, max_size=2, timeout=timeout)
    try:
        migrate(db, ALL)
        copied = [_copy_one(db, data_dir, copy) for copy in copies]
        if _IMPORT_JOB_COPY in copies:
            copied.append(_copy_uploads(db, data_dir))
        return copied
    finally:
        db.close()


def _copy_uploads(db: Database, data_dir: Path) -> Copied:
    """The kept uploads of the jobs that a retry may run again, each in one transaction
    (never half an upload). A job names its file by the path it had when it was written;
    a data directory moved since has it under its own ``uploads/``. An upload no longer
    kept (cleaned after ``keep_uploads``) stays missing: its job cannot be retried, as
    before. Read: the uploads found; added: those not in PostgreSQL yet."""
    path = data_dir / _IMPORT_JOB_COPY.file
    if not path.exists():
        return Copied(_UPLOADS, 0, 0)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [str(row[0]) for row in source.execute(_UPLOADS_SELECT)]
    except sqlite3.OperationalError:  # a file from before import jobs
        return Copied(_UPLOADS, 0, 0)
    finally:
        source.close()
    read = added = 0
    for name in dict.fromkeys(names):
        file = _upload_file(data_dir, name)
        if file is None:
            continue
        read += 1
        with db.transaction() as conn:
            added += keep_upload(conn, name, file)
    return Copied(_UPLOADS, read, added)


def _upload_file(data_dir: Path, name: str) -> Path | None:
    """Where a job's upload is now: at its path, else under this data directory."""
    at = Path(name)
    for candidate in (at, data_dir / UPLOADS_DIR / at.name):
        if at.name and candidate.is_file():
            return candidate
    return None


def _copy_one(db: Database, data_dir: Path, copy: Copy) -> Copied:
    path = data_dir / copy.file
    if not path.exists():
        return Copied(copy.store, 0, 0)
    if copy.prepare is not None:
        copy.prepare(path)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    read = added = 0
    try:
        try:
            cursor = source.execute(copy.select)
        except sqlite3.OperationalError:  # a file from before this store had its table
            return Copied(copy.store, 0, 0)
        with db.transaction() as conn, conn.cursor() as cur:
            if copy.before:
                cur.execute(copy.before)
            while rows := cursor.fetchmany(_BATCH):
                read += len(rows)
                cur.executemany(copy.insert, [copy.convert(row) for row in rows])
                added += max(cur.rowcount, 0)
    finally:
        source.close()
    return Copied(copy.store, read, added)
