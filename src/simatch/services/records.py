"""Records one by one: read, list, create or replace, delete (every write through the Ingestor).
Whole files are ``imports.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from simatch.domain.payload import normalise_name
from simatch.domain.ports import SearchFilter, VectorIndex
from simatch.domain.records import KINDS, BaseRecord, parse_record
from simatch.errors import Conflict, InvalidInput, NotFound
from simatch.ingest.pipeline import Ingestor
from simatch.ingest.report import IngestReport


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
    """Curating records one by one; every write goes through the Ingestor."""

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
                raise Conflict(
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

    def save(self, record: BaseRecord) -> IngestReport:
        """Create or replace a record already validated (the chat's "save as a need")."""
        return self.ingestor.put(record)

    def delete(self, kind: str, record_id: str) -> None:
        if self.ingestor.delete([f"{kind}:{record_id}"]) == 0:
            raise NotFound(f"no {kind} with id {record_id!r}", {"kind": kind, "id": record_id})

    def delete_ids(self, ids: Sequence[str]) -> int:
        """Delete by ``kind:id``, or by a bare id of any kind; returns how many existed."""
        keys = [key for i in ids for key in ([i] if ":" in i else [f"{k}:{i}" for k in KINDS])]
        return self.ingestor.delete(keys)

    def keys(self, kinds: Sequence[str] = ()) -> list[str]:
        """Every record key in the index (of ``kinds``; all when empty)."""
        return all_keys(self.index, kinds)

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


def all_keys(index: VectorIndex, kinds: Sequence[str] = ()) -> list[str]:
    keys: list[str] = []
    cursor: str | None = None
    while True:
        hits, cursor = index.scroll(SearchFilter(kinds=tuple(kinds)), 256, cursor)
        keys.extend(h.key for h in hits)
        if cursor is None:
            return keys


def _contains(payload: dict[str, Any], needle: str | None) -> bool:
    if needle is None:
        return True
    record = payload.get("record", {})
    fields = (record.get("id"), record.get("title"), record.get("name"), record.get("organisation"))
    return any(needle in normalise_name(str(f)) for f in fields if f)
