"""Near-duplicate records: the same thing said twice, in the same or in another language.

Dense similarity cannot tell a duplicate from a close neighbour: on the demo data the three
Finnish/English twins score 0.81-0.83 (raw cosine) while many same-language records on one
topic score 0.88-0.92, and language centring does not change the order. What a twin shares
is its content word for word, across the translation, and its facts. So the score is

    score = lexical * (0.5 + 0.5 * facts)

- ``lexical``: each record's text is analysed as a question (lemmas plus dictionary and
  concept translations, ``TextAnalyzer.analyse_query``) and searched on the lexical channel;
  its score for the other record divided by its score for itself (1.0 = the other record
  matches as well as the record itself), averaged over both directions;
- ``facts``: Jaccard overlap of the numbers in the two texts (number formats normalised:
  "3 000", "3,000" and "3000" are the same fact), 0 when neither has numbers. Numbers are
  written the same in every language, and twins state the same ones; without agreeing facts
  the lexical evidence counts half.

Two records of the same kind are flagged when ``score >= threshold`` (calibrated per model by
``simatch eval --calibrate``; ``SIMATCH_DUPLICATE_THRESHOLD`` overrides). Flags are reported
for staff and never merged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from simatch.domain.ports import QueryTerms, SearchFilter, TextAnalyzer, VectorIndex
from simatch.domain.records import BaseRecord, record_from_payload
from simatch.ingest.report import DuplicateFlag

_REMEMBERED = 4096  # analyses kept by one detector (a few KB each)
_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f,]\d{3})*(?:[.,]\d+)?")


def numbers(text: str) -> frozenset[str]:
    """The numbers of a text, thousands separators removed, decimal commas made points."""
    found: set[str] = set()
    for raw in _NUMBER.findall(text):
        value = re.sub(r"[ \u00a0\u202f]", "", raw)
        value = re.sub(r",(\d{3})(?!\d)", r"\1", value)
        found.add(value.replace(",", "."))
    return frozenset(found)


def fact_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def duplicate_score(lexical: float, facts: float) -> float:
    return lexical * (0.5 + 0.5 * facts)


@dataclass(frozen=True)
class _Probe:
    key: str
    kind: str
    text: str
    language: str
    numbers: frozenset[str]


class DuplicateDetector:
    """Finds near-duplicates of records already in the index (upsert first, then check)."""

    def __init__(
        self,
        index: VectorIndex,
        analyzer: TextAnalyzer,
        threshold: float,
        candidates: int = 5,
        pause: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self.analyzer = analyzer
        self.threshold = threshold
        self.candidates = candidates
        self._pause = pause  # between records (Ingestor.pause)
        # A record's analysis as a question, by its text: most records are analysed again
        # as another record's neighbour (the backward direction), and analysing (with
        # dictionary translations) is most of a check's time. Kept for one import.
        self._terms: dict[tuple[str, str], QueryTerms] = {}

    def check(self, records: Sequence[BaseRecord]) -> list[DuplicateFlag]:
        """Flags for these records against the whole index, the records themselves included
        (so twins in one batch are found too). Each pair once, highest score first."""
        flags: dict[tuple[str, str], DuplicateFlag] = {}
        for record in records:
            if self._pause is not None:
                self._pause()
            for flag in self._check_one(_probe(record)):
                pair = (min(flag.key, flag.other), max(flag.key, flag.other))
                if pair not in flags or flags[pair].score < flag.score:
                    flags[pair] = flag
        return sorted(flags.values(), key=lambda f: (-f.score, f.key, f.other))

    def scan(self, keys: Iterable[str]) -> list[DuplicateFlag]:
        """Flags for records already in the index, by key (a full re-scan for staff)."""
        records = []
        for payload in self.index.get(list(keys)).values():
            records.append(record_from_payload(payload))
        return self.check(records)

    def _check_one(self, probe: _Probe) -> list[DuplicateFlag]:
        flt = SearchFilter(kinds=(probe.kind,))
        terms = self._analysed(probe.text, probe.language)
        if terms.sparse.is_empty():
            return []
        hits = self.index.search_sparse(terms.sparse, flt, self.candidates + 1)
        own = next((h.score for h in hits if h.key == probe.key), None)
        if not own:
            return []
        # The score is at most the mean of both directions, and a direction rarely
        # exceeds 1: below half the threshold this pair cannot reach it.
        close = [h for h in hits if h.key != probe.key and h.score / own >= self.threshold / 2]
        payloads = self.index.get([h.key for h in close]) if close else {}
        flags = []
        for hit in close:
            if hit.key not in payloads:
                continue  # deleted since the search
            forward = hit.score / own
            other = _probe(record_from_payload(payloads[hit.key]))
            backward = self._backward(other, probe.key)
            lexical = (forward + backward) / 2
            score = duplicate_score(lexical, fact_overlap(probe.numbers, other.numbers))
            if score >= self.threshold:
                flags.append(DuplicateFlag(key=probe.key, other=other.key, score=round(score, 4)))
        return flags

    def _analysed(self, text: str, language: str) -> QueryTerms:
        key = (text, language)
        found = self._terms.get(key)
        if found is None:
            if len(self._terms) >= _REMEMBERED:
                self._terms.clear()
            found = self._terms[key] = self.analyzer.analyse_query(text, language)
        return found

    def _backward(self, other: _Probe, key: str) -> float:
        """The other record's lexical score for ``key``, relative to its score for itself."""
        terms = self._analysed(other.text, other.language)
        if terms.sparse.is_empty():
            return 0.0
        pair = SearchFilter(kinds=(other.kind,), keys=(other.key, key))
        scores = {h.key: h.score for h in self.index.search_sparse(terms.sparse, pair, 2)}
        own = scores.get(other.key)
        return scores.get(key, 0.0) / own if own else 0.0


def _probe(record: BaseRecord) -> _Probe:
    text = record.search_text()
    return _Probe(record.key, record.kind, text, record.language or "fi", numbers(text))


__all__ = ["DuplicateDetector", "duplicate_score", "fact_overlap", "numbers"]
