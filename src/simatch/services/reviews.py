"""The staff's review queues: suspected near-duplicates, gaps (questions that found nothing
good, grouped by similarity), 👎 feedback, and calls closing soon or already closed.

A decision is remembered (``ReviewLog``) so that the item does not come back, and written to
the audit trail; what it changes in the catalogue goes through ``RecordService`` (so that is
audited too).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from simatch.domain.audit import Actor, AuditLog
from simatch.domain.ports import Embedder, SearchFilter, VectorIndex
from simatch.domain.reviews import PAIR_DECISIONS, ReviewLog, pair_subject
from simatch.domain.stores import FeedbackEntry, FeedbackLog, Gap, GapLog, LoggedMatch
from simatch.errors import InvalidInput, NotFound
from simatch.services.duplicates import DuplicateService
from simatch.services.records import RecordService, StoredRecord

CLOSING_DAYS = 14


@dataclass(frozen=True)
class PairView:
    subject: str
    score: float
    a: dict[str, Any]  # the records, as stored
    b: dict[str, Any]


@dataclass
class GapGroup:
    """Questions close enough to be one unmet need; ``text`` is the latest of them."""

    gaps: list[Gap]
    vector: Any = None  # the group's first (latest) question's vector

    @property
    def text(self) -> str:
        return self.gaps[0].text

    @property
    def ids(self) -> list[int]:
        return [g.id for g in self.gaps]

    @property
    def languages(self) -> list[str]:
        return sorted({g.language for g in self.gaps})

    @property
    def regions(self) -> list[str]:
        return sorted({r for g in self.gaps for r in g.regions})

    @property
    def sources(self) -> list[str]:
        return sorted({g.platform for g in self.gaps})

    @property
    def first(self) -> datetime:
        return min(g.created_at for g in self.gaps)

    @property
    def last(self) -> datetime:
        return max(g.created_at for g in self.gaps)


@dataclass(frozen=True)
class FeedbackView:
    entry: FeedbackEntry
    match: LoggedMatch | None
    place: int | None  # the item's place in the match, from 1
    item: dict[str, Any] | None  # the record, when the item is one and still exists
    shown_with: list[str] = field(default_factory=list)  # titles of the other items


@dataclass(frozen=True)
class QueueCounts:
    duplicates: int
    gaps: int  # groups
    gap_questions: int
    feedback: int
    calls_closing: int
    calls_closed: int


class ReviewService:
    def __init__(
        self,
        reviews: ReviewLog,
        audit: AuditLog,
        records: RecordService,
        duplicates: DuplicateService,
        gaps: GapLog,
        feedback: FeedbackLog,
        index: VectorIndex,
        embedder: Embedder,
        same_question: float,
        window: int = 1000,
    ) -> None:
        """``same_question``: the cosine from which two questions count as one (the model's
        feedback similarity); ``window``: how many of the latest gaps and 👎 are reviewed."""
        self.reviews = reviews
        self.audit = audit
        self.records = records
        self.duplicates = duplicates
        self.gaps = gaps
        self.feedback = feedback
        self.index = index
        self.embedder = embedder
        self.same_question = same_question
        self.window = window
        # Question vectors by text: the queue and the dashboard regroup on every view, and
        # embedding a thousand questions again each time would take seconds.
        self._vectors: dict[str, Any] = {}

    # -- near-duplicates ----------------------------------------------------------------------

    def pairs(self, limit: int = 50) -> builtins.list[PairView]:
        """Undecided pairs, highest score first, both records still there."""
        threshold = self.duplicates.threshold
        if threshold is None:
            return []
        flagged = self.duplicates.pairs(threshold)
        decided = self.reviews.decided("pair", [pair_subject(p.a, p.b) for p in flagged])
        open_pairs = [p for p in flagged if pair_subject(p.a, p.b) not in decided][:limit]
        stored = self.index.get([k for p in open_pairs for k in (p.a, p.b)])
        return [
            PairView(pair_subject(p.a, p.b), p.score, stored[p.a]["record"], stored[p.b]["record"])
            for p in open_pairs
            if p.a in stored and p.b in stored
        ]

    def decide_pair(
        self, a: str, b: str, decision: str, actor: Actor, delete: str | None = None
    ) -> None:
        """keep_both, translations (each record names the other in ``translations``) or
        deleted (``delete`` is the key of the one to delete)."""
        if decision not in PAIR_DECISIONS:
            raise InvalidInput(f"decision must be one of {', '.join(PAIR_DECISIONS)}")
        subject = pair_subject(a, b)
        detail: dict[str, Any] = {"decision": decision}
        if decision == "deleted":
            if delete not in (a, b) or delete is None:
                raise InvalidInput("name which of the two records to delete", {"field": "delete"})
            kind, record_id = delete.split(":", 1)
            self.records.delete(kind, record_id, actor)
            detail["deleted"] = delete
        elif decision == "translations":
            for key, other in ((a, b), (b, a)):
                kind, record_id = key.split(":", 1)
                record = self.records.get(kind, record_id)
                linked = sorted({*record.get("translations", []), other})
                self.records.put(kind, record_id, {**record, "translations": linked}, actor)
        self.reviews.decide("pair", [subject], decision, actor, detail)
        self.audit.append(actor, "review", f"pair:{subject}", None, detail)

    # -- gaps ---------------------------------------------------------------------------------

    def gap_groups(self) -> builtins.list[GapGroup]:
        """The undecided gaps among the latest ``window``, grouped: a question joins the
        first group whose first question is at least ``same_question`` similar. Largest
        groups first."""
        latest = self.gaps.list(self.window, 0)
        decided = self.reviews.decided("gap", [str(g.id) for g in latest])
        pending = [g for g in latest if str(g.id) not in decided]
        if not pending:
            return []
        vectors = self._embed([g.text for g in pending])
        groups: list[GapGroup] = []
        for gap, vector in zip(pending, vectors, strict=True):
            for group in groups:
                if float(np.dot(group.vector, vector)) >= self.same_question:
                    group.gaps.append(gap)
                    break
            else:
                groups.append(GapGroup([gap], vector))
        groups.sort(key=lambda g: (-len(g.gaps), -g.last.timestamp()))
        return groups

    def _embed(self, texts: builtins.list[str]) -> builtins.list[Any]:
        # Read through .get: another request may clear the cache meanwhile.
        known = {t: v for t in set(texts) if (v := self._vectors.get(t)) is not None}
        missing = sorted(set(texts) - set(known))
        if missing:
            if len(self._vectors) + len(missing) > 4 * self.window:
                self._vectors.clear()
            fresh = dict(zip(missing, self.embedder.embed_queries(missing), strict=True))
            self._vectors.update(fresh)
            known.update(fresh)
        return [known[t] for t in texts]

    def gap_group(self, gap_id: int) -> GapGroup:
        for group in self.gap_groups():
            if gap_id in group.ids:
                return group
        raise NotFound(f"no open gap {gap_id}")

    def gap_to_need(
        self, gap_ids: builtins.list[int], record_id: str, data: dict[str, Any], actor: Actor
    ) -> StoredRecord:
        """Create the need (InvalidInput or Conflict as any create), then close the gaps."""
        stored = self.records.create("need", record_id, data, actor)
        self._close_gaps(gap_ids, "need", actor, {"need": f"need:{record_id}"})
        return stored

    def handle_gaps(self, gap_ids: builtins.list[int], actor: Actor) -> None:
        self._close_gaps(gap_ids, "handled", actor, {})

    def _close_gaps(
        self, gap_ids: builtins.list[int], decision: str, actor: Actor, detail: dict[str, Any]
    ) -> None:
        subjects = [str(i) for i in gap_ids]
        self.reviews.decide("gap", subjects, decision, actor, detail)
        after = {"decision": decision, "gaps": gap_ids, **detail}
        self.audit.append(actor, "review", f"gaps:{','.join(subjects)}", None, after)

    # -- feedback -----------------------------------------------------------------------------

    def thumbs_down(self, limit: int = 50) -> builtins.list[FeedbackView]:
        """Undecided 👎 among the latest ``window``, newest first, with what the match log
        keeps of the question (when, language, where the item was, what came with it)."""
        entries = self.feedback.list_feedback(self.window, None, "not_useful")
        decided = self.reviews.decided("feedback", [str(e.id) for e in entries])
        pending = [e for e in entries if str(e.id) not in decided][:limit]
        views = []
        for entry in pending:
            match = self.feedback.get_match(entry.match_id)
            items = list(match.items) if match else []
            key = (entry.item_kind, entry.item_id)
            place = items.index(key) + 1 if key in items else None
            found = self.index.get([f"{k}:{i}" for k, i in items] or [f"{key[0]}:{key[1]}"])
            item = found.get(f"{key[0]}:{key[1]}", {}).get("record")
            others = [
                str(found[f"{k}:{i}"].get("title") or i)
                for k, i in items
                if (k, i) != key and f"{k}:{i}" in found
            ][:5]
            views.append(FeedbackView(entry, match, place, item, others))
        return views

    def handle_feedback(self, ids: builtins.list[int], actor: Actor) -> None:
        subjects = [str(i) for i in ids]
        self.reviews.decide("feedback", subjects, "handled", actor)
        after = {"decision": "handled", "feedback": ids}
        self.audit.append(actor, "review", f"feedback:{','.join(subjects)}", None, after)

    # -- calls --------------------------------------------------------------------------------

    def calls(self, closed: bool, today: date | None = None) -> builtins.list[dict[str, Any]]:
        """Calls closing within ``CLOSING_DAYS`` (soonest first), or already closed (the
        longest closed first), for cleanup."""
        day = today or date.today()
        if closed:
            flt = SearchFilter(kinds=("call",), deadline_to=day - timedelta(days=1))
        else:
            flt = SearchFilter(
                kinds=("call",), deadline_from=day, deadline_to=day + timedelta(CLOSING_DAYS)
            )
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            hits, cursor = self.index.scroll(flt, 256, cursor)
            found.extend(h.payload["record"] for h in hits)
            if cursor is None or len(found) >= 5000:
                break
        return sorted(found, key=lambda r: (str(r.get("deadline")), str(r.get("id"))))

    def counts(self) -> QueueCounts:
        groups = self.gap_groups()
        return QueueCounts(
            duplicates=len(self.pairs(limit=1000)),
            gaps=len(groups),
            gap_questions=sum(len(g.gaps) for g in groups),
            feedback=len(self.thumbs_down(limit=self.window)),
            calls_closing=len(self.calls(closed=False)),
            calls_closed=len(self.calls(closed=True)),
        )
