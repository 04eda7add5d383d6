"""Figures for the staff's dashboard: what the catalogue holds (records by kind, language and
region) and how it is used (matches per day with the share that found nothing good, feedback
per day). All counted by the stores and the index; nothing is kept for this alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from simatch.domain.payload import normalise_name
from simatch.domain.ports import SearchFilter, VectorIndex
from simatch.domain.records import KINDS
from simatch.domain.regions import COUNTIES, NATIONAL
from simatch.domain.stores import FeedbackLog, GapLog

LANGUAGES = ("fi", "en", "sv")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD, UTC
    matches: int
    no_good: int  # first pages without a good match (the gaps recorded that day)
    useful: int
    not_useful: int

    @property
    def no_good_share(self) -> float | None:
        return min(1.0, self.no_good / self.matches) if self.matches else None


class DashboardService:
    def __init__(self, index: VectorIndex, feedback: FeedbackLog, gaps: GapLog) -> None:
        self.index = index
        self.feedback = feedback
        self.gaps = gaps

    def by_kind(self) -> list[Bar]:
        return [Bar(k, self.index.count(SearchFilter(kinds=(k,)))) for k in KINDS]

    def by_language(self) -> list[Bar]:
        return [Bar(code, self.index.count(SearchFilter(languages=(code,)))) for code in LANGUAGES]

    def by_region(self) -> list[Bar]:
        """Counties with records, most first; national records apart, at the end."""
        counts = [
            Bar(name, self.index.count(SearchFilter(regions=(normalise_name(name),))))
            for name in COUNTIES
        ]
        national = self.index.count(SearchFilter(regions=(NATIONAL,)))
        shown = sorted((b for b in counts if b.value), key=lambda b: (-b.value, b.label))
        return [*shown, Bar(NATIONAL, national)]

    def days(self, days: int = 30, today: date | None = None) -> list[Day]:
        """The last ``days`` UTC days, oldest first."""
        end = today or datetime.now(UTC).date()
        start = end - timedelta(days=days - 1)
        since = datetime(start.year, start.month, start.day, tzinfo=UTC)
        matches = self.feedback.matches_per_day(since)
        gaps = self.gaps.per_day(since)
        votes = self.feedback.feedback_per_day(since)
        rows = []
        for n in range(days):
            day = (start + timedelta(n)).isoformat()
            rows.append(
                Day(
                    day,
                    matches.get(day, 0),
                    gaps.get(day, 0),
                    votes.get((day, "useful"), 0),
                    votes.get((day, "not_useful"), 0),
                )
            )
        return rows
