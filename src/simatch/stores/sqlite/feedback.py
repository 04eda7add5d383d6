"""The match log and the feedback on it in SQLite (``FeedbackLog``); the Matcher's boosts.

Every match is logged (id, query vector, language, the items returned; never the text) so
that feedback can name a match by its ``match_id``. Matches without feedback are pruned
beyond ``log_size``; matches with feedback are kept. How votes become score changes is in
``boosts.py``. Only record items (innovation, need, call, actor) have a key the Matcher
ranks; feedback on grouped items (an organisation, a funder) is stored for staff but moves
nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from simatch.domain.ports import Vector
from simatch.domain.stores import FeedbackEntry, GapLog, GapNote, LoggedMatch, Verdict, item_key
from simatch.stores.boosts import BoostRule, VoteMatrix, compute_boosts
from simatch.stores.sqlite.connection import connect, to_datetime

log = logging.getLogger(__name__)

FILE_NAME = "feedback.sqlite"
_PRUNE_EVERY = 128

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS matches (
        match_id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        model_id TEXT NOT NULL,
        language TEXT,
        vector BLOB NOT NULL,
        items TEXT NOT NULL,
        has_feedback INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS matches_prune ON matches (has_feedback, created)",
    """CREATE TABLE IF NOT EXISTS feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        match_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        item_kind TEXT NOT NULL,
        verdict TEXT NOT NULL,
        reason TEXT,
        source TEXT NOT NULL,
        created REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS feedback_match ON feedback (match_id)",
)
_FEEDBACK_COLUMNS = (
    "f.id, f.match_id, f.item_id, f.item_kind, f.verdict, f.reason, f.source, f.created, m.language"
)


class SqliteFeedbackLog:
    """SQLite file under the data directory; ``path=None`` keeps it in memory."""

    def __init__(
        self,
        path: Path | None,
        model_id: str,
        rule: BoostRule | None = None,
        log_size: int = 20_000,
        clock: Callable[[], float] = time.time,
        gaps: GapLog | None = None,
    ) -> None:
        self._db = connect(path)
        self._gaps = gaps  # where a match's gap note goes (another file)
        self._model_id = model_id
        self.rule = rule or BoostRule()
        self._log_size = log_size
        self._clock = clock
        self._lock = threading.Lock()
        self._inserts = 0
        with self._lock, self._db:
            for statement in _SCHEMA:
                self._db.execute(statement)
        self._votes = VoteMatrix()
        self._version = -1
        with self._lock:
            self._reload()

    # -- match log --------------------------------------------------------------------------

    def log_match(
        self,
        match_id: str,
        vector: Vector,
        language: str | None,
        items: Sequence[tuple[str, str]],
        gap: GapNote | None = None,
    ) -> None:
        blob = np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO matches (match_id, created, model_id, language, vector,"
                    " items) VALUES (?, ?, ?, ?, ?, ?)",
                    (match_id, self._clock(), self._model_id, language, blob, json.dumps(items)),
                )
            self._inserts += 1
            if self._inserts % _PRUNE_EVERY == 0:
                self._prune()
        if gap is not None and self._gaps is not None:
            try:
                self._gaps.record(gap.text, gap.language, gap.platform, gap.regions, match_id)
            except Exception:  # the answer matters more than the staff's list
                log.exception("the gap could not be recorded")

    def get_match(self, match_id: str) -> LoggedMatch | None:
        with self._lock:
            row = self._db.execute(
                "SELECT match_id, created, language, items FROM matches WHERE match_id = ?",
                (match_id,),
            ).fetchone()
        if row is None:
            return None
        created = to_datetime(row[1])
        assert created is not None
        items = tuple((str(k), str(i)) for k, i in json.loads(row[3]))
        return LoggedMatch(row[0], created, row[2], items)

    def matches_showing(self, kind: str, item_id: str, limit: int = 20) -> list[LoggedMatch]:
        # The items column is JSON; a LIKE on its exact spelling finds candidates, and the
        # parsed list decides (an id may contain the other's text).
        needle = json.dumps([kind, item_id])
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            rows = self._db.execute(
                "SELECT match_id, created, language, items FROM matches"
                " WHERE items LIKE ? ESCAPE '\\' ORDER BY created DESC LIMIT ?",
                (pattern, limit * 2),
            ).fetchall()
        found: list[LoggedMatch] = []
        for row in rows:
            items = tuple((str(k), str(i)) for k, i in json.loads(row[3]))
            created = to_datetime(row[1])
            if (kind, item_id) in items and created is not None:
                found.append(LoggedMatch(row[0], created, row[2], items))
        return found[:limit]

    def matches_per_day(self, since: datetime) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT date(created, 'unixepoch'), count(*) FROM matches WHERE created >= ?"
                " GROUP BY 1",
                (since.timestamp(),),
            ).fetchall()
        return {str(day): int(n) for day, n in rows}

    def _prune(self) -> None:
        (count,) = self._db.execute(
            "SELECT count(*) FROM matches WHERE has_feedback = 0"
        ).fetchone()
        excess = int(count) - self._log_size
        if excess > 0:
            with self._db:
                self._db.execute(
                    "DELETE FROM matches WHERE match_id IN (SELECT match_id FROM matches "
                    "WHERE has_feedback = 0 ORDER BY created LIMIT ?)",
                    (excess,),
                )

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
        with self._lock:
            with self._db:
                cursor = self._db.execute(
                    "INSERT INTO feedback (match_id, item_id, item_kind, verdict, reason, source,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (match_id, item_id, item_kind, verdict, reason, source, self._clock()),
                )
                self._db.execute(
                    "UPDATE matches SET has_feedback = 1 WHERE match_id = ?", (match_id,)
                )
            new_id = cursor.lastrowid
            key = item_key(item_kind, item_id)
            if key is not None:
                self._remember(match_id, None, key, verdict == "useful")
            row = self._db.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM feedback f LEFT JOIN matches m "
                "USING (match_id) WHERE f.id = ?",
                (new_id,),
            ).fetchone()
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
        where, args = ["1 = 1"], []
        for clause, value in (
            ("f.id < ?", before),
            ("f.verdict = ?", verdict),
            ("f.item_id = ?", item_id),
            ("f.source = ?", source),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM feedback f LEFT JOIN matches m USING (match_id)"
                f" WHERE {' AND '.join(where)} ORDER BY f.id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def feedback_per_day(self, since: datetime) -> dict[tuple[str, Verdict], int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT date(created, 'unixepoch'), verdict, count(*) FROM feedback"
                " WHERE created >= ? GROUP BY 1, 2",
                (since.timestamp(),),
            ).fetchall()
        return {(str(d), "useful" if v == "useful" else "not_useful"): int(n) for d, v, n in rows}

    # -- boosts -----------------------------------------------------------------------------

    def boosts(self, query_vector: Vector) -> dict[str, float]:
        """record key -> score change (``boosts.compute_boosts``)."""
        if not self.rule.enabled:
            return {}
        with self._lock:
            (version,) = self._db.execute("PRAGMA data_version").fetchone()
            if version != self._version:  # another process (the CLI, a bot) wrote feedback
                self._reload()
            snapshot = self._votes.snapshot()
        if snapshot is None:
            return {}
        return compute_boosts(*snapshot, query_vector, self.rule)

    def _remember(self, match_id: str, blob: bytes | None, key: str, useful: bool) -> None:
        vector = None
        if match_id not in self._votes:
            if blob is None:
                found = self._db.execute(
                    "SELECT vector FROM matches WHERE match_id = ? AND model_id = ?",
                    (match_id, self._model_id),
                ).fetchone()
                if found is None:
                    return
                blob = found[0]
            vector = np.frombuffer(blob, dtype=np.float32)
        self._votes.add(match_id, vector, key, useful)

    def _reload(self) -> None:
        self._votes = VoteMatrix()
        rows = self._db.execute(
            "SELECT f.match_id, m.vector, f.item_kind, f.item_id, f.verdict FROM feedback f "
            "JOIN matches m USING (match_id) WHERE m.model_id = ? ORDER BY f.id",
            (self._model_id,),
        ).fetchall()
        for match_id, blob, kind, item, verdict in rows:
            key = item_key(kind, item)
            if key is not None:
                self._remember(match_id, blob, key, verdict == "useful")
        (self._version,) = self._db.execute("PRAGMA data_version").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _entry(row: tuple[object, ...]) -> FeedbackEntry:
    created = to_datetime(float(str(row[7])))
    assert created is not None
    verdict: Verdict = "useful" if row[4] == "useful" else "not_useful"
    return FeedbackEntry(
        id=int(str(row[0])),
        match_id=str(row[1]),
        item_id=str(row[2]),
        item_kind=str(row[3]),
        verdict=verdict,
        reason=None if row[5] is None else str(row[5]),
        source=str(row[6]),
        created=created,
        language=None if row[8] is None else str(row[8]),
    )
