"""The validation and import report: every rejected row named by file, line, field and reason."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from simatch.domain.stores import DuplicateFlag


class Rejection(BaseModel):
    source: str
    line: int
    field: str | None = None
    reason: str
    id: str | None = None


class IngestReport(BaseModel):
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    embedded: int = 0  # documents actually sent to the model (not from the cache)
    rejected: list[Rejection] = Field(default_factory=list)
    duplicates: list[DuplicateFlag] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def merge(self, other: IngestReport) -> None:
        self.read += other.read
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.embedded += other.embedded
        self.rejected.extend(other.rejected)
        self.duplicates.extend(other.duplicates)
        self.seconds += other.seconds


__all__ = ["DuplicateFlag", "IngestReport", "Rejection", "report_progress", "report_summary"]


REPORT_LIMIT = 1000  # rejected rows and near-duplicates listed in a report summary


def report_summary(report: IngestReport, limit: int = REPORT_LIMIT) -> dict[str, Any]:
    """The report as an import answer shows it (``ImportReport`` of the API): the counts, and
    the first ``limit`` rejected rows and near-duplicates."""
    return {
        "ok": report.ok,
        "read": report.read,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "embedded": report.embedded,
        "rejected_count": len(report.rejected),
        "rejected": [r.model_dump() for r in report.rejected[:limit]],
        "duplicates": [d.model_dump() for d in report.duplicates[:limit]],
        "seconds": round(report.seconds, 3),
    }


def report_progress(report: IngestReport) -> dict[str, int]:
    """The counters of ``domain.imports.PROGRESS_FIELDS``."""
    return {
        "read": report.read,
        "embedded": report.embedded,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
    }
