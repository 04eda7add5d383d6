"""Records one by one: read, list, create or replace, delete (every write through the Ingestor).
Whole files are ``imports.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from simatch.domain.audit import CLI_ACTOR, Action, Actor, AuditLog
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

    def __init__(
        self,
        ingestor: Ingestor,
        index: VectorIndex,
        scan_budget: int = 5000,
        audit: AuditLog | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.index = index
        self.scan_budget = scan_budget  # points read per page at most when filtering by q
        self.audit = audit  # every change is written here, whichever transport asked

    def _find(self, kind: str, record_id: str) -> dict[str, Any] | None:
        key = f"{kind}:{record_id}"
        found = self.index.get([key])
        return found[key]["record"] if key in found else None

    def _audit(
        self,
        actor: Actor,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        if self.audit is None or before == after:
            return
        action: Action = "create" if before is None else "delete" if after is None else "update"
        self.audit.append(actor, action, target, before, after)

    def get(self, kind: str, record_id: str) -> dict[str, Any]:
        record = self._find(kind, record_id)
        if record is None:
            raise NotFound(f"no {kind} with id {record_id!r}", {"kind": kind, "id": record_id})
        return record

    def put(
        self, kind: str, record_id: str, data: dict[str, Any], actor: Actor = CLI_ACTOR
    ) -> StoredRecord:
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
        before = self._find(kind, record_id)
        report = self.ingestor.put(record)
        stored = self.get(kind, record_id)
        self._audit(actor, record.key, before, stored)
        return StoredRecord(stored, created=report.added == 1, changed=report.unchanged == 0)

    def create(
        self, kind: str, record_id: str, data: dict[str, Any], actor: Actor = CLI_ACTOR
    ) -> StoredRecord:
        """Like ``put``, but Conflict when the record exists (a form that creates must not
        overwrite someone else's record)."""
        if self._find(kind, record_id) is not None:
            raise Conflict(f"a {kind} with id {record_id!r} exists", {"field": "id"})
        return self.put(kind, record_id, data, actor)

    def save(self, record: BaseRecord, actor: Actor = CLI_ACTOR) -> IngestReport:
        """Create or replace a record already validated (the chat's "save as a need")."""
        before = self._find(record.kind, record.id)
        report = self.ingestor.put(record)
        self._audit(actor, record.key, before, self._find(record.kind, record.id))
        return report

    def delete(self, kind: str, record_id: str, actor: Actor = CLI_ACTOR) -> None:
        before = self._find(kind, record_id)
        if self.ingestor.delete([f"{kind}:{record_id}"]) == 0:
            raise NotFound(f"no {kind} with id {record_id!r}", {"kind": kind, "id": record_id})
        self._audit(actor, f"{kind}:{record_id}", before, None)

    def delete_ids(self, ids: Sequence[str], actor: Actor = CLI_ACTOR) -> int:
        """Delete by ``kind:id``, or by a bare id of any kind; returns how many existed."""
        keys = [key for i in ids for key in ([i] if ":" in i else [f"{k}:{i}" for k in KINDS])]
        before = {k: v["record"] for k, v in self.index.get(keys).items()}
        removed = self.ingestor.delete(keys)
        for key, record in before.items():
            self._audit(actor, key, record, None)
        return removed

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
