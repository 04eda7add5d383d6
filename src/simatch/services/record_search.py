"""Finding records for staff: text search that understands inflection (Finnish "nuoret"
finds "Nuorten …": both become the lemma "nuori"), with filters by kind, language, region,
source and open or closed calls, a page at a time.

With words to search, records are ranked by the index's lexical (lemma) channel, so the
search reads only what it returns. Without, it pages through the index in its own order.
A ``source`` filter (records synced from a source carry its name) is checked on each
record read, so such a page reads at most ``scan_budget`` records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from simatch.domain.payload import normalise_name
from simatch.domain.ports import SearchFilter, TextAnalyzer, VectorIndex
from simatch.errors import InvalidInput

CallState = Literal["open", "closed"]
NO_SOURCE = "-"  # the source filter's value for records typed or imported by staff
_LANGUAGES = ("fi", "en", "sv")


@dataclass(frozen=True)
class RecordCriteria:
    q: str | None = None
    kind: str | None = None
    language: str | None = None
    region: str | None = None
    source: str | None = None
    calls: CallState | None = None


@dataclass(frozen=True)
class RecordHits:
    items: list[dict[str, Any]]  # records, as stored
    total: int | None  # of all pages, when known without reading them
    next_page: str | None  # opaque: an offset with words, an index cursor without


class RecordSearch:
    def __init__(self, index: VectorIndex, analyzer: TextAnalyzer, scan_budget: int = 5000) -> None:
        self.index = index
        self.analyzer = analyzer
        self.scan_budget = scan_budget

    def find(
        self, criteria: RecordCriteria, page: str | None = None, limit: int = 25
    ) -> RecordHits:
        flt = self._filter(criteria)
        if flt is None:
            return RecordHits([], 0, None)
        words = (criteria.q or "").strip()
        if words:
            return self._search(words, flt, criteria.source, page, limit)
        return self._scroll(flt, criteria.source, page, limit)

    def lemmas(self, text: str) -> list[str]:
        """The query's lemmas in every language we index: a one-word query's language cannot
        be told, and a lemma of the wrong language simply matches nothing."""
        found: dict[str, None] = {}
        for language in _LANGUAGES:
            found.update(dict.fromkeys(self.analyzer.lemmas(text, language)))
        return list(found)

    def _filter(self, c: RecordCriteria) -> SearchFilter | None:
        """None when the criteria cannot match anything (a call state for another kind)."""
        kinds: tuple[str, ...] = (c.kind,) if c.kind else ()
        deadline_from = deadline_to = None
        if c.calls is not None:
            if c.kind not in (None, "call"):
                return None
            kinds = ("call",)
            today = date.today()
            if c.calls == "open":
                deadline_from = today
            else:
                deadline_to = today - timedelta(days=1)
        return SearchFilter(
            kinds=kinds,
            languages=(c.language,) if c.language else (),
            regions=(normalise_name(c.region),) if c.region and c.region.strip() else (),
            deadline_from=deadline_from,
            deadline_to=deadline_to,
        )

    def _search(
        self, words: str, flt: SearchFilter, source: str | None, page: str | None, limit: int
    ) -> RecordHits:
        offset = _offset(page)
        lemmas = self.lemmas(words)
        exact = self._exact_id(words, flt)
        if not lemmas and not exact:
            return RecordHits([], 0, None)
        ranked: list[str] = list(exact)
        if lemmas:
            want = offset + limit + 1 + len(exact)
            vector = self.analyzer.encode_lemmas(lemmas)
            hits = self.index.search_sparse(vector, flt, want if source is None else 1000)
            ranked += [h.key for h in hits if h.key not in exact]
        payloads = self.index.get(ranked)
        records = [payloads[k]["record"] for k in ranked if k in payloads]
        records = [r for r in records if _from_source(r, source)]
        items = records[offset : offset + limit]
        more = len(records) > offset + limit
        total = len(records) if not more else None
        return RecordHits(items, total, str(offset + limit) if more else None)

    def _exact_id(self, words: str, flt: SearchFilter) -> list[str]:
        """A record whose id is the query comes first (staff paste ids from reports)."""
        if " " in words or len(words) > 200:
            return []
        kinds = flt.kinds or ("innovation", "need", "call", "actor")
        keys = [words] if ":" in words else [f"{kind}:{words}" for kind in kinds]
        return [k for k in keys if k in self.index.get(keys)]

    def _scroll(
        self, flt: SearchFilter, source: str | None, cursor: str | None, limit: int
    ) -> RecordHits:
        total = self.index.count(flt) if source is None else None
        items: list[dict[str, Any]] = []
        scanned = 0
        while True:
            hits, cursor = self.index.scroll(flt, limit - len(items), cursor)
            scanned += len(hits)
            records = (h.payload["record"] for h in hits)
            items.extend(r for r in records if _from_source(r, source))
            if cursor is None or len(items) >= limit or scanned >= self.scan_budget:
                return RecordHits(items, total, cursor)


def _from_source(record: dict[str, Any], source: str | None) -> bool:
    if source is None or not source.strip():
        return True
    have = record.get("source")
    if source == NO_SOURCE:
        return not have
    return bool(have) and normalise_name(str(have)) == normalise_name(source)


def _offset(page: str | None) -> int:
    if page is None or page == "":
        return 0
    if not page.isdigit() or len(page) > 9:
        raise InvalidInput(f"invalid page {page!r}", {"field": "page"})
    return int(page)
