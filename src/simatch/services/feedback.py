"""Feedback on match results: recorded against a logged match, listed for staff."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from simatch.domain.records import KINDS
from simatch.domain.stores import VERDICTS, FeedbackEntry, FeedbackLog, LoggedMatch, Verdict
from simatch.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class FeedbackPage:
    items: list[FeedbackEntry]
    next_cursor: str | None


class FeedbackService:
    def __init__(self, log: FeedbackLog) -> None:
        self.log = log

    def record(
        self,
        match_id: str,
        item_id: str,
        verdict: str,
        reason: str | None = None,
        source: str = "api",
        kind: str | None = None,
    ) -> FeedbackEntry:
        """Feedback on one item of a logged match. ``kind`` is needed only if two items of the
        match share the id. NotFound: unknown (or expired) match; InvalidInput: bad values."""
        if verdict not in VERDICTS:
            raise InvalidInput(
                f"verdict must be one of {', '.join(VERDICTS)}", {"field": "verdict"}
            )
        if reason is not None and len(reason) > 1000:
            raise InvalidInput("reason is longer than 1000 characters", {"field": "reason"})
        if not source or len(source) > 40:
            raise InvalidInput("source must be 1 to 40 characters", {"field": "source"})
        logged = self.log.get_match(match_id)
        if logged is None:
            raise NotFound(
                f"no match with id {match_id!r} (unknown or expired)", {"field": "match_id"}
            )
        candidates = [(k, i) for k, i in logged.items if i == item_id and kind in (None, k)]
        if not candidates:
            raise NotFound(
                f"item {item_id!r} was not returned by match {match_id!r}", {"field": "item_id"}
            )
        records = [c for c in candidates if c[0] in KINDS]
        item_kind = (records or candidates)[0][0]
        clean_reason = (reason.strip() or None) if reason else None
        return self.log.add_feedback(
            match_id, item_id, item_kind, _verdict(verdict), clean_reason, source
        )

    def list(
        self,
        limit: int = 50,
        cursor: str | None = None,
        verdict: str | None = None,
        item_id: str | None = None,
        source: str | None = None,
    ) -> FeedbackPage:
        """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
        before = _int_cursor(cursor)
        if verdict is not None and verdict not in VERDICTS:
            raise InvalidInput(
                f"verdict must be one of {', '.join(VERDICTS)}", {"field": "verdict"}
            )
        wanted = None if verdict is None else _verdict(verdict)
        entries = self.log.list_feedback(limit + 1, before, wanted, item_id, source)
        more = len(entries) > limit
        entries = entries[:limit]
        return FeedbackPage(entries, str(entries[-1].id) if more and entries else None)

    def shown(self, kind: str, item_id: str, limit: int = 10) -> builtins.list[LoggedMatch]:
        """The latest matches that returned this item (their texts are never kept)."""
        return self.log.matches_showing(kind, item_id, limit)


def _verdict(value: str) -> Verdict:
    return "useful" if value == "useful" else "not_useful"


def _int_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput(f"invalid cursor {cursor!r}", {"field": "cursor"})
    return int(cursor)
