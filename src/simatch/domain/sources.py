"""Ports of external sources of records (funding calls) and of the sync state.

A ``Source`` fetches what an external service offers, page by page, and maps each item to a
record of the public import format with its provenance; it decides nothing about the index.
``simatch.services.sources.SyncService`` puts what it yields through the ingest pipeline and
remembers per item what was applied (``SyncStateStore``), so that a re-sync skips what did not
change, keeps staff edits of unchanged items and withdraws what the source stopped offering.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

Profile = dict[str, Any]  # which items to take; each source documents its own keys


@dataclass(frozen=True)
class SourceItem:
    """One item as a source offers it, mapped (``record``) or not (``error``).

    ``checksum`` changes whenever the source changes the item. ``closed``: the source lists it
    but no longer takes applications (it is not imported, and withdrawn if it was).
    ``remap_after``: the mapping depends on the date (the next stage of a two-stage call),
    so after this day the item is mapped again even if it did not change.
    """

    source_id: str
    checksum: str
    record: dict[str, Any] | None = None
    error: str | None = None
    field: str | None = None
    closed: bool = False
    remap_after: date | None = None


@dataclass(frozen=True)
class SourcePage:
    number: int
    items: list[SourceItem]
    total: int | None = None  # items the source says it has, if it says
    duplicates: int = 0  # items already seen on an earlier page (left out of ``items``)


class Source(Protocol):
    """An external service that offers records; ``fetch`` raises ``SourceFailed`` when it
    cannot finish (unreachable after retries, an answer of another shape)."""

    @property
    def name(self) -> str:
        """Short and stable: a record's ``source`` and the CLI's NAME (``eu-ft``)."""
        ...

    @property
    def title(self) -> str: ...

    def default_profile(self) -> Profile: ...

    def check_profile(self, profile: Profile) -> Profile:
        """The profile normalised; InvalidInput naming the bad key."""
        ...

    def fetch(self, profile: Profile, now: datetime) -> Iterator[SourcePage]: ...

    def close(self) -> None: ...


@dataclass
class SyncCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: int = 0
    skipped: int = 0  # closed items the source listed: not imported
    duplicates: int = 0
    embedded: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


# "skipped" is never stored: another process (replica) was syncing that source.
SyncStatus = Literal["running", "ok", "failed", "interrupted", "skipped"]


@dataclass
class SyncRun:
    id: int
    source: str
    started_at: datetime
    status: SyncStatus = "running"
    finished_at: datetime | None = None
    counts: SyncCounts = field(default_factory=SyncCounts)
    error: str | None = None
    rejections: list[dict[str, Any]] = field(default_factory=list)  # item id, field, reason

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        seconds = self.seconds
        return {
            "source": self.source,
            "status": self.status,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds")
            if self.finished_at
            else None,
            "seconds": round(seconds, 3) if seconds is not None else None,
            "counts": self.counts.as_dict(),
            "error": self.error,
            "rejections": list(self.rejections),
        }


@dataclass(frozen=True)
class ItemState:
    """What the last sync applied for one item of a source."""

    source: str
    source_id: str
    key: str  # the record's "kind:id"
    checksum: str
    remap_after: date | None = None
    withdrawn: bool = False


class SyncStateStore(Protocol):
    """Runs, per-item state and the staff-edited profile of each source. (One sync of a
    source at a time is ``domain.stores.ExclusiveWork``'s job.)"""

    def start_run(self, source: str, now: datetime) -> SyncRun:
        """A new run; runs of this source left ``running`` (killed) become ``interrupted``."""
        ...

    def save_run(self, run: SyncRun) -> None: ...

    def last_run(self, source: str) -> SyncRun | None: ...

    def runs(self, source: str, limit: int = 10) -> list[SyncRun]:
        """Newest first."""
        ...

    def items(self, source: str) -> dict[str, ItemState]:
        """source_id -> state."""
        ...

    def put_items(self, states: list[ItemState]) -> None: ...

    def profile(self, source: str) -> Profile | None:
        """The staff-edited profile, or None for the source's default."""
        ...

    def set_profile(self, source: str, profile: Profile | None) -> None:
        """None goes back to the default."""
        ...

    def close(self) -> None: ...
