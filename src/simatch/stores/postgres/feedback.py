"""The match log and the feedback on it in PostgreSQL (``FeedbackLog``); the Matcher's boosts.

The same rules as the SQLite log (``sqlite/feedback.py``), shared by every replica:

* logging a match is one statement (every ``_PRUNE_EVERY``-th also prunes, and a question
  without a good match goes to the gap log, in that statement);
* every feedback write bumps ``feedback_version`` in the same statement, so versions follow
  commit order; each replica keeps the votes in memory and, at most once per
  ``refresh_every`` seconds of matching, reads that one row and fetches only the newer votes.
  A vote given through another replica moves rankings here within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from psycopg.types.json import Jsonb

from simatch.domain.ports import Vector
from simatch.domain.stores import FeedbackEntry, GapNote, LoggedMatch, Verdict, item_key
from simatch.stores.boosts import BoostRule, VoteMatrix, compute_boosts
from simatch.stores.postgres.database import Connection, Database
from simatch.stores.postgres.migrations import Migrations

_PRUNE_EVERY = 128

MIGRATIONS = Migrations(
    "feedback",
    (
        """CREATE TABLE matches (
            match_id TEXT PRIMARY KEY,
            created TIMESTAMPTZ NOT NULL,
            model_id TEXT NOT NULL,
            language TEXT,
            vector BYTEA NOT NULL,
            items JSONB NOT NULL,
            has_feedback BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX matches_prune ON matches (created) WHERE NOT has_feedback;
        CREATE TABLE feedback (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            match_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            item_kind TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('useful', 'not_useful')),
            reason TEXT,
            source TEXT NOT NULL,
            created TIMESTAMPTZ NOT NULL,
            version BIGINT NOT NULL
        );
        CREATE INDEX feedback_match ON feedback (match_id);
        CREATE INDEX feedback_version_idx ON feedback (version);
        CREATE TABLE feedback_version (
            one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
            version BIGINT NOT NULL
        );
        INSERT INTO feedback_version (version) VALUES (0)""",
    ),
)

_INSERT_MATCH = """INSERT INTO matches (match_id, created, model_id, language, vector, items)
    VALUES (%(id)s, %(created)s, %(model)s, %(language)s, %(vector)s, %(items)s)
    ON CONFLICT (match_id) DO UPDATE SET created = EXCLUDED.created,
        model_id = EXCLUDED.model_id, language = EXCLUDED.language,
        vector = EXCLUDED.vector, items = EXCLUDED.items"""
# A question without a good match goes to the gap log (``gaps.py``) in the same statement.
_GAP = """gap AS (INSERT INTO gaps (created_at, platform, language, text, regions, match_id)
    VALUES (date_trunc('second', %(created)s::timestamptz), %(gap_platform)s,
            %(gap_language)s, %(gap_text)s, %(gap_regions)s, %(id)s))"""
# The newest ``keep`` matches without feedback stay; older ones go, in the same statement.
_PRUNE = """logged AS (INSERT_MATCH RETURNING 1),
    cutoff AS (SELECT created FROM matches WHERE NOT has_feedback
               ORDER BY created DESC OFFSET %(keep)s LIMIT 1)"""
_PRUNE_DELETE = """DELETE FROM matches
    WHERE NOT has_feedback AND created <= (SELECT created FROM cutoff)"""


def _log_statement(prune: bool, gap: bool) -> str:
    """One statement: the insert, with the gap and the pruning as CTEs when wanted."""
    ctes = [_GAP] if gap else []
    if prune:
        ctes.append(_PRUNE.replace("INSERT_MATCH", _INSERT_MATCH))
    body = _PRUNE_DELETE if prune else _INSERT_MATCH
    return f"WITH {', '.join(ctes)} {body}" if ctes else body


_ADD_FEEDBACK = """WITH v AS (
        UPDATE feedback_version SET version = version + 1 RETURNING version
    ), f AS (
        INSERT INTO feedback (match_id, item_id, item_kind, verdict, reason, source, created,
                              version)
        SELECT %(match)s, %(item)s, %(kind)s, %(verdict)s, %(reason)s, %(source)s, %(now)s,
               v.version FROM v
        RETURNING id, match_id, item_id, item_kind, verdict, reason, source, created
    ), m AS (
        UPDATE matches SET has_feedback = true WHERE match_id = %(match)s RETURNING language
    )
    SELECT f.*, (SELECT language FROM m) FROM f"""

_FEEDBACK_COLUMNS = (
    "f.id, f.match_id, f.item_id, f.item_kind, f.verdict, f.reason, f.source, f.created, m.language"
)


class PgFeedbackLog:
    def __init__(
        self,
        db: Database,
        model_id: str,
        rule: BoostRule | None = None,
        log_size: int = 20_000,
        clock: Callable[[], float] = time.time,
        refresh_every: float = 1.0,
    ) -> None:
        self._db = db
        self._model_id = model_id
        self.rule = rule or BoostRule()
        self._log_size = log_size
        self._clock = clock
        self._refresh_every = refresh_every
        self._lock = threading.Lock()
        self._inserts = 0
        self._votes = VoteMatrix()
        self._version = 0  # the feedback_version whose votes are in _votes
        self._checked = float("-inf")  # time.monotonic() of the last version check
        with self._lock, db.connection() as conn:
            self._catch_up(conn)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # -- match log --------------------------------------------------------------------------

    def log_match(
        self,
        match_id: str,
        vector: Vector,
        language: str | None,
        items: Sequence[tuple[str, str]],
        gap: GapNote | None = None,
    ) -> None:
        params: dict[str, Any] = {
            "id": match_id,
            "created": self._now(),
            "model": self._model_id,
            "language": language,
            "vector": np.asarray(vector, dtype=np.float32).tobytes(),
            "items": Jsonb([list(i) for i in items]),
            "keep": self._log_size,
        }
        if gap is not None:
            params |= {
                "gap_platform": gap.platform,
                "gap_language": gap.language,
                "gap_text": gap.text,
                "gap_regions": list(gap.regions),
            }
        with self._lock:
            self._inserts += 1
            prune = self._inserts % _PRUNE_EVERY == 0
        with self._db.connection() as conn:
            conn.execute(_log_statement(prune, gap is not None), params)

    def get_match(self, match_id: str) -> LoggedMatch | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT match_id, created, language, items FROM matches WHERE match_id = %s",
                (match_id,),
            ).fetchone()
        if row is None:
            return None
        items = tuple((str(k), str(i)) for k, i in row[3])
        return LoggedMatch(row[0], row[1], row[2], items)

    def matches_showing(self, kind: str, item_id: str, limit: int = 20) -> list[LoggedMatch]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT match_id, created, language, items FROM matches WHERE items @> %s"
                " ORDER BY created DESC LIMIT %s",
                (Jsonb([[kind, item_id]]), limit),
            ).fetchall()
        return [
            LoggedMatch(r[0], r[1], r[2], tuple((str(k), str(i)) for k, i in r[3])) for r in rows
        ]

    def matches_per_day(self, since: datetime) -> dict[str, int]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*) FROM matches"
                " WHERE created >= %s GROUP BY 1",
                (since,),
            ).fetchall()
        return {str(day): int(n) for day, n in rows}

    # -- feedback ---------------------------------------------------------------------------

    def add_feedback(
        self,
        match_id: str,
        item_id: str,
        item_kind: str,
        verdict: Verdict,
        reason: str | None,
        source: str,
    ) -> FeedbackEntry:
        params = {
            "match": match_id,
            "item": item_id,
            "kind": item_kind,
            "verdict": verdict,
            "reason": reason,
            "source": source,
            "now": self._now(),
        }
        with self._db.connection() as conn:
            row = conn.execute(_ADD_FEEDBACK, params).fetchone()
            assert row is not None
            with self._lock:  # this replica ranks with its own vote at once
                self._catch_up(conn)
        return _entry(row)

    def list_feedback(
        self,
        limit: int = 50,
        before: int | None = None,
        verdict: Verdict | None = None,
        item_id: str | None = None,
        source: str | None = None,
    ) -> list[FeedbackEntry]:
        """Newest first; ``before`` is the id of the last entry of the previous page."""
        where, args = ["true"], list[object]()
        for clause, value in (
            ("f.id < %s", before),
            ("f.verdict = %s", verdict),
            ("f.item_id = %s", item_id),
            ("f.source = %s", source),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        with self._db.connection() as conn:
            rows = conn.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM feedback f LEFT JOIN matches m USING (match_id)"
                f" WHERE {' AND '.join(where)} ORDER BY f.id DESC LIMIT %s",
                (*args, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def feedback_per_day(self, since: datetime) -> dict[tuple[str, Verdict], int]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD'), verdict, count(*)"
                " FROM feedback WHERE created >= %s GROUP BY 1, 2",
                (since,),
            ).fetchall()
        return {(str(d), "useful" if v == "useful" else "not_useful"): int(n) for d, v, n in rows}

    # -- boosts -----------------------------------------------------------------------------

    def boosts(self, query_vector: Vector) -> dict[str, float]:
        """record key -> score change (``boosts.compute_boosts``)."""
        if not self.rule.enabled:
            return {}
        with self._lock:
            if time.monotonic() - self._checked >= self._refresh_every:
                with self._db.connection() as conn:
                    self._catch_up(conn)
            snapshot = self._votes.snapshot()
        if snapshot is None:
            return {}
        return compute_boosts(*snapshot, query_vector, self.rule)

    def _catch_up(self, conn: Connection) -> None:
        """Add the votes newer than ``_version`` (caller holds ``_lock``)."""
        self._checked = time.monotonic()
        row = conn.execute("SELECT version FROM feedback_version").fetchone()
        latest = int(row[0]) if row else 0
        if latest <= self._version:
            return
        rows = conn.execute(
            "SELECT f.match_id, m.vector, f.item_kind, f.item_id, f.verdict FROM feedback f "
            "JOIN matches m USING (match_id) WHERE m.model_id = %s AND f.version > %s "
            "AND f.version <= %s ORDER BY f.version",
            (self._model_id, self._version, latest),
        ).fetchall()
        for match_id, blob, kind, item, verdict in rows:
            key = item_key(kind, item)
            if key is None:
                continue
            vector = None if match_id in self._votes else np.frombuffer(blob, dtype=np.float32)
            self._votes.add(match_id, vector, key, verdict == "useful")
        self._version = latest

    def close(self) -> None:
        """The database is shared and closed by its owner."""


def _entry(row: Sequence[Any]) -> FeedbackEntry:
    verdict: Verdict = "useful" if row[4] == "useful" else "not_useful"
    return FeedbackEntry(
        id=int(row[0]),
        match_id=str(row[1]),
        item_id=str(row[2]),
        item_kind=str(row[3]),
        verdict=verdict,
        reason=None if row[5] is None else str(row[5]),
        source=str(row[6]),
        created=row[7],
        language=None if row[8] is None else str(row[8]),
    )
