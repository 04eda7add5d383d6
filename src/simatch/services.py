"""Use cases shared by every transport (HTTP API, chat, CLI): match, feedback, records.

They sit between a transport and the domain: the API and the chat assistant call exactly
these, so a match made in Slack and one made over HTTP are logged and boosted alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from simatch.domain.matcher import Matcher
from simatch.domain.payload import normalise_name
from simatch.domain.ports import SearchFilter, VectorIndex
from simatch.domain.query import Query
from simatch.domain.records import KINDS, BaseRecord, parse_record
from simatch.domain.results import MatchResult
from simatch.domain.stores import VERDICTS, FeedbackEntry, FeedbackLog, GapLog, MatchLog, Verdict
from simatch.errors import InvalidInput, NotFound
from simatch.ingest.pipeline import Ingestor
from simatch.ingest.readers import RawRow
from simatch.ingest.report import IngestReport


class MatchService:
    """Match, give the result a ``match_id`` and log it so that feedback can refer to it.

    With ``gaps``, a question without a good match (first page only) is recorded for staff,
    as coming from ``source``. The chat assistant records its own gaps (with the platform),
    so it uses a MatchService without ``gaps``.
    """

    def __init__(
        self,
        matcher: Matcher,
        log: MatchLog,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        gaps: GapLog | None = None,
        source: str = "api",
    ) -> None:
        self.matcher = matcher
        self.log = log
        self._new_id = new_id
        self.gaps = gaps
        self.source = source

    def match(self, query: Query) -> MatchResult:
        result, vector = self.matcher.match_with_vector(query)
        result.match_id = self._new_id()
        items = [(i.kind, i.id) for i in (*result.solutions, *result.peers, *result.funders)]
        self.log.log_match(result.match_id, vector, result.query.detected, items)
        if self.gaps is not None and result.no_good_match and query.offset == 0:
            self.gaps.record(
                " ".join(query.text.split()),
                result.query.language,
                self.source,
                tuple(query.regions),
                result.match_id,
            )
        return result


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
            raise InvalidInput(
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


@dataclass(frozen=True)
class RecordPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class StoredRecord:
    record: dict[str, Any]
    created: bool = False
    changed: bool = True


class RecordService:
    """Curating records one by one or by file; every write goes through the Ingestor."""

    def __init__(self, ingestor: Ingestor, index: VectorIndex, scan_budget: int = 5000) -> None:
        self.ingestor = ingestor
        self.index = index
        self.scan_budget = scan_budget  # points read per page at most when filtering by q

    def get(self, kind: str, record_id: str) -> dict[str, Any]:
        key = f"{kind}:{record_id}"
        found = self.index.get([key])
        if key not in found:
            raise NotFound(f"no {kind} with id {record_id!r}", {"kind": kind, "id": record_id})
        record: dict[str, Any] = found[key]["record"]
        return record

    def put(self, kind: str, record_id: str, data: dict[str, Any]) -> StoredRecord:
        for name, expected in (("kind", kind), ("id", record_id)):
            if name in data and str(data[name]) != expected:
                raise InvalidInput(
                    f"{name} in the body ({data[name]!r}) differs from the URL ({expected!r})",
                    {"field": name},
                )
        try:
            record: BaseRecord = parse_record({**data, "kind": kind, "id": record_id})
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"][1:]) or kind, "message": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
            first = errors[0]
            raise InvalidInput(f"{first['field']}: {first['message']}", errors) from exc
        report = self.ingestor.put(record)
        stored = self.get(kind, record_id)
        return StoredRecord(stored, created=report.added == 1, changed=report.unchanged == 0)

    def delete(self, kind: str, record_id: str) -> None:
        if self.ingestor.delete([f"{kind}:{record_id}"]) == 0:
            raise NotFound(f"no {kind} with id {record_id!r}", {"kind": kind, "id": record_id})

    def list(
        self,
        kind: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> RecordPage:
        """Records in index order. ``q`` keeps those whose id, title, name or organisation
        contains it (case-insensitive); a page then reads at most ``scan_budget`` records and
        may hold fewer than ``limit`` items while ``next_cursor`` is still set."""
        flt = SearchFilter(kinds=(kind,) if kind else ())
        needle = normalise_name(q) if q and q.strip() else None
        items: list[dict[str, Any]] = []
        scanned = rounds = 0
        while True:
            # Never read past what the page can hold, so the index cursor stays exact.
            hits, cursor = self.index.scroll(flt, limit - len(items), cursor)
            scanned, rounds = scanned + len(hits), rounds + 1
            items.extend(h.payload["record"] for h in hits if _contains(h.payload, needle))
            if cursor is None or len(items) >= limit or needle is None:
                break
            if scanned >= self.scan_budget or rounds >= 100:
                break  # a partial page; the caller follows next_cursor
        return RecordPage(items, cursor)

    def import_rows(self, rows: Iterable[RawRow]) -> IngestReport:
        return self.ingestor.ingest(rows)


def _contains(payload: dict[str, Any], needle: str | None) -> bool:
    if needle is None:
        return True
    record = payload.get("record", {})
    fields = (record.get("id"), record.get("title"), record.get("name"), record.get("organisation"))
    return any(needle in normalise_name(str(f)) for f in fields if f)


def _verdict(value: str) -> Verdict:
    return "useful" if value == "useful" else "not_useful"


def _int_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput(f"invalid cursor {cursor!r}", {"field": "cursor"})
    return int(cursor)
