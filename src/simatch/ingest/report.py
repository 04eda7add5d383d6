"""The validation and import report: every rejected row named by file, line, field and reason."""

from __future__ import annotations

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


__all__ = ["DuplicateFlag", "IngestReport", "Rejection"]
