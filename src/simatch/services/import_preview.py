"""What an import would do, before anything is written: how many rows are new, changed,
unchanged or rejected (each rejected row with its line, field and reason), and which look
like records already in the index. Read-only; the same validation as the import itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from simatch.domain.payload import normalise_name
from simatch.domain.ports import SearchFilter, TextAnalyzer, VectorIndex
from simatch.domain.records import BaseRecord
from simatch.ingest.pipeline import Ingestor
from simatch.ingest.readers import RawRow
from simatch.ingest.report import Rejection

BATCH = 256
SUSPECT_CHECKS = 2000  # new records looked up per preview: a preview stays quick for big files
SHOWN = 200  # rejected rows and suspects a kept preview lists (the counts are whole)


@dataclass(frozen=True)
class Suspect:
    """A new record that looks like one already there (or like another row of the file)."""

    key: str
    title: str
    other: str  # the existing record's key, or the other row's
    other_title: str


@dataclass
class ImportPreview:
    source: str
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    suspects: list[Suspect] = field(default_factory=list)
    checked: int = 0  # new records compared with the index (at most SUSPECT_CHECKS)

    @property
    def rejected_rows(self) -> int:
        return len({(r.source, r.line) for r in self.rejected})

    @property
    def writes(self) -> int:
        return self.new + self.changed


class ImportPreviewer:
    def __init__(self, index: VectorIndex, analyzer: TextAnalyzer) -> None:
        self.index = index
        self.analyzer = analyzer

    def preview(self, rows: Iterable[RawRow], source: str) -> ImportPreview:
        result = ImportPreview(source)
        batch: dict[str, BaseRecord] = {}
        for row in rows:
            result.read += 1
            record, rejections = Ingestor.validate(row)
            if record is None:
                result.rejected.extend(rejections)
                continue
            batch[record.key] = record  # a later row with the same key wins, as in the import
            if len(batch) >= BATCH:
                self._count(list(batch.values()), result)
                batch.clear()
        if batch:
            self._count(list(batch.values()), result)
        return result

    def _count(self, records: list[BaseRecord], result: ImportPreview) -> None:
        stored = self.index.hashes([r.key for r in records])
        fresh = []
        for record in records:
            if record.key not in stored:
                result.new += 1
                fresh.append(record)
            elif stored[record.key] == record.content_hash():
                result.unchanged += 1
            else:
                result.changed += 1
        room = max(SUSPECT_CHECKS - result.checked, 0)
        result.checked += min(room, len(fresh))
        result.suspects.extend(self._suspects(fresh[:room]))

    def _suspects(self, records: list[BaseRecord]) -> list[Suspect]:
        """New records whose title is an existing record's of the same kind (the best
        lexical match), or another new row's. The full near-duplicate check runs during the
        import itself, and its pairs go to the review queue."""
        found: list[Suspect] = []
        seen: dict[tuple[str, str], BaseRecord] = {}
        for record in records:
            title = normalise_name(record.display_title)
            twin = seen.get((record.kind, title))
            if twin is not None:
                found.append(Suspect(record.key, record.display_title, twin.key,
                                     twin.display_title))  # fmt: skip
                continue
            seen[(record.kind, title)] = record
            lemmas = self.analyzer.lemmas(record.display_title, record.language or "fi")
            if not lemmas:
                continue
            vector = self.analyzer.encode_lemmas(lemmas)
            hits = self.index.search_sparse(vector, SearchFilter(kinds=(record.kind,)), 3)
            for hit in hits:
                other = str(hit.payload.get("title") or "")
                if hit.key != record.key and normalise_name(other) == title:
                    found.append(Suspect(record.key, record.display_title, hit.key, other))
                    break
        return found


def preview_summary(preview: ImportPreview, limit: int = SHOWN) -> dict[str, Any]:
    """The preview as a job keeps it (JSON): the counts, and the first ``limit`` rejected
    rows and suspected duplicates (a file of bad rows stays a small document)."""
    return {
        "read": preview.read,
        "new": preview.new,
        "changed": preview.changed,
        "unchanged": preview.unchanged,
        "writes": preview.writes,
        "rejected_rows": preview.rejected_rows,
        "rejected": [r.model_dump() for r in preview.rejected[:limit]],
        "suspect_count": len(preview.suspects),
        "suspects": [asdict(s) for s in preview.suspects[:limit]],
        "checked": preview.checked,
    }
