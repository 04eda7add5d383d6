"""Reverse matching: which followed needs would a match show these new records to?

For the records of an import (``hook``), each with the vectors the index stores:

1. Similarity (numpy): the cosine of each record with every followed need's question vector
   is exactly the dense similarity a match for that need would see; pairs below what the
   calibrated confidence needs cannot alert.
2. Screening (``screen``): the batch's records are ranked among themselves in both channels
   for every need left; pairs whose rank bounds cannot reach the confidence, or that have
   ``top`` records of their section ahead, are dropped (never one that would alert).
3. Already known pairs (alerted before, or known when the need was followed) are dropped.
4. Each remaining need is matched once, as ``/v1/match`` would (``Matcher.reverse_many``): a
   record is kept when it is among the first ``top`` of its section with at least the
   configured confidence. Closed calls and withdrawn records never; needs of the need's own
   organisation are not peers; a need is never its own alert.

``exact=True`` skips step 2 (every pair above the floor is matched): the reference the
screened path is tested against. What was decided is written in one transaction of the
store (history, outbox, journal).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import numpy as np

from simatch.alerts.bars import BarBook, Loaded
from simatch.alerts.screen import NeedRow, NeedTerms, PoolBatch, Screen, section_codes
from simatch.domain.alerts import AlertItem, AlertStore, Bar, Found, key_id
from simatch.domain.confidence import Calibration
from simatch.domain.evidence import query_term_weights
from simatch.domain.explain import Explainer
from simatch.domain.fusion import Scored
from simatch.domain.matcher import Matcher, PreparedQuery
from simatch.domain.payload import normalise_name, record_title, with_national
from simatch.domain.ports import SparseVector, Vector, VectorIndex
from simatch.domain.query import Query
from simatch.domain.records import BaseRecord, record_from_payload
from simatch.domain.results import Confidence, Section
from simatch.domain.stores import EmbeddingCache

log = logging.getLogger(__name__)

# The largest feedback boost a fused score can get (FeedbackSettings caps it at 1.0).
_MAX_SCORE = 2.0


@dataclass(frozen=True)
class DetectionSettings:
    min_confidence: Confidence = "possible"
    top: int = 10  # the record must be among the first ``top`` of its section
    max_text_chars: int = 4000  # of a need's question (the Matcher's limit)


@dataclass(frozen=True)
class Arrival:
    """A record just indexed, as detection needs it."""

    key: str
    kind: str
    organisation: str | None
    deadline: date | None
    vector: Vector  # as stored in the index (centred for its language)
    sparse: SparseVector | None = None  # its lexical vector (None: not at hand)
    regions: frozenset[str] = frozenset()  # normalised, as the index filters them
    withdrawn: bool = False


@dataclass(frozen=True)
class FollowedNeed:
    key: str
    content_hash: str
    organisation: str | None
    prepared: PreparedQuery


def need_query(record: dict[str, object], max_chars: int) -> Query:
    """The question a followed need asks: its title and description, in its language, in its
    regions (national records match every region)."""
    title = str(record.get("title") or "").strip()
    description = str(record.get("description") or "").strip()
    text = f"{title}. {description}" if title and not description.startswith(title) else description
    regions = record.get("regions")
    language = record.get("language")
    return Query(
        text=text[:max_chars] or str(record.get("id")),
        language=str(language) if language else None,
        regions=tuple(str(r) for r in regions) if isinstance(regions, list) else (),
    )


class NeedBook:
    """The followed needs, prepared for reverse matching and kept in memory. Reloaded when
    the store's version moves (a subscription came or went) or a followed need changed."""

    def __init__(
        self,
        matcher: Matcher,
        index: VectorIndex,
        store: AlertStore,
        max_chars: int,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.matcher = matcher
        self.index = index
        self.store = store
        self.max_chars = max_chars
        # Question vectors of the needs, kept across restarts (10,000 needs take minutes to
        # embed; a restart then takes a second).
        self.cache = cache
        self._lock = threading.Lock()
        self._version = -1
        self._needs: dict[str, FollowedNeed] = {}
        self._order: list[str] = []
        self._matrix = np.zeros((0, 0), np.float32)
        self._terms = NeedTerms.of([])

    def current(self, changed_needs: Sequence[str] = ()) -> tuple[list[FollowedNeed], Vector]:
        """The followed needs and their question vectors (rows, unit length)."""
        needs, matrix, _ = self.prepared(changed_needs)
        return needs, matrix

    def prepared(
        self, changed_needs: Sequence[str] = ()
    ) -> tuple[list[FollowedNeed], Vector, NeedTerms]:
        """``current`` plus the needs' query terms, rows in the same order."""
        with self._lock:
            version = self.store.version()
            stale = [k for k in changed_needs if k in self._needs]
            if version != self._version or stale:
                self._reload(stale)
                self._version = version
            return [self._needs[k] for k in self._order], self._matrix, self._terms

    def find(self, need_key: str) -> FollowedNeed | None:
        needs, _ = self.current()
        return next((n for n in needs if n.key == need_key), None)

    def invalidate(self) -> None:
        with self._lock:
            self._version = -1

    def _reload(self, stale: Sequence[str]) -> None:
        followed = self.store.followed_needs()
        for key in stale:
            self._needs.pop(key, None)
        missing = [k for k in followed if k not in self._needs]
        if missing:
            payloads = self.index.get(missing)
            present = [k for k in missing if k in payloads]
            queries = [need_query(payloads[k]["record"], self.max_chars) for k in present]
            prepared = self.matcher.prepare(queries, self._vectors(queries))
            for key, ready in zip(present, prepared, strict=True):
                record = payloads[key]["record"]
                organisation = record.get("organisation")
                self._needs[key] = FollowedNeed(
                    key=key,
                    content_hash=str(payloads[key].get("content_hash", "")),
                    organisation=normalise_name(organisation) if organisation else None,
                    prepared=ready,
                )
        keep = set(followed)
        self._needs = {k: v for k, v in self._needs.items() if k in keep}
        self._order = [k for k in followed if k in self._needs]
        if self._order:
            rows = np.stack([self._needs[k].prepared.search_vector for k in self._order])
            self._matrix = _unit(rows.astype(np.float32))
        else:
            self._matrix = np.zeros((0, 0), np.float32)
        self._terms = NeedTerms.of([self._needs[k].prepared.terms.sparse for k in self._order])

    def _vectors(self, queries: Sequence[Query]) -> list[Vector] | None:
        if self.cache is None or not queries:
            return None
        texts = self.matcher.query_texts(queries)
        model = self.matcher.embedder.model_id
        keys = [_query_key(model, t) for t in texts]
        found = self.cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = self.matcher.embedder.embed_queries([texts[i] for i in missing])
            new = {keys[i]: fresh[j] for j, i in enumerate(missing)}
            self.cache.put_many(new)
            found.update(new)
        return [found[k] for k in keys]


def _query_key(model_id: str, text: str) -> str:
    """A cache key apart from documents' (a question is embedded with another prefix)."""
    return hashlib.sha256(f"{model_id}\x00query\x00{text}".encode()).hexdigest()


class Detector:
    def __init__(
        self,
        matcher: Matcher,
        index: VectorIndex,
        store: AlertStore,
        settings: DetectionSettings | None = None,
        calibration: Calibration | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache: EmbeddingCache | None = None,
        exact: bool = False,
    ) -> None:
        self.matcher = matcher
        self.checked = 0  # needs matched the other way round (for benchmarks and tests)
        self.index = index
        self.store = store
        self.settings = settings or DetectionSettings()
        self.calibration = calibration
        self.now = now
        self.needs = NeedBook(matcher, index, store, self.settings.max_text_chars, cache)
        self.min_similarity = _min_similarity(calibration, self.settings.min_confidence)
        self.screen = (
            None
            if exact
            else Screen(
                matcher.tuning,
                calibration,
                self.settings.min_confidence,
                self.settings.top,
                index,
                self.min_similarity,
            )
        )
        # What records already in the pools a new one must beat (not for the exact path).
        self.bars = None if exact else BarBook(store, matcher.tuning.candidates)

    def detect(self, arrivals: Sequence[Arrival], journal_ids: Sequence[int] = ()) -> int:
        """Check the records against the followed needs and write what was found (and the
        journal entries done) in one transaction. Returns the alert items written."""
        found = self.find(arrivals)
        if not found and not journal_ids:
            return 0
        return self.store.record_detection(found, journal_ids, self.now())

    def find(self, arrivals: Sequence[Arrival]) -> list[Found]:
        """What these records (just indexed) alert, per followed need. No alert is written
        here; the needs' bars are brought up to date."""
        changed_needs = [a.key for a in arrivals if a.kind == "need"]
        needs, matrix, terms = self.needs.prepared(changed_needs)
        if not needs or not arrivals:
            return []
        now = self.now()
        loaded = self.bars.load([n.key for n in needs], now.date()) if self.bars else None
        pools = self._pools(arrivals, matrix)
        pairs = self._pairs(pools, needs, terms, loaded)
        fresh = self.store.unseen(pairs)
        by_need: dict[str, list[str]] = {}
        for need_key, record_key in pairs:
            if (need_key, record_key) in fresh:
                by_need.setdefault(need_key, []).append(record_key)
        book = {n.key: n for n in needs}
        order = list(by_need)
        seen: list[dict[str, list[tuple[str, float]]]] = []
        shown_all = (
            self.matcher.reverse_graded(
                [(book[k].prepared, by_need[k]) for k in order],
                self.settings.top,
                least=self.settings.min_confidence,
                dense_seen=seen,
            )
            if order
            else []
        )
        self.checked += len(order)
        if self.bars is not None and loaded is not None:
            self.bars.save(loaded, self._new_bars(loaded, pools, needs, order, seen, now))
        found: list[Found] = []
        for need_key, shown in zip(order, shown_all, strict=True):
            items = tuple(alert_item(section, cand, grade) for section, cand, grade in shown)
            if items:
                found.append(Found(need_key, items))
        return found

    def explain(self, need_key: str, items: Sequence[AlertItem]) -> tuple[AlertItem, ...]:
        """The reasons why (``AlertItem.why``) of items found without them, as a match for
        the need would give them now: detection leaves them to delivery, which sends few
        items at a time, so that an import does not wait for them. Items of records or a
        need no longer in the index keep what they have."""
        todo = [i.key for i in items if not i.why]
        if not todo:
            return tuple(items)
        payloads = self.index.get([need_key, *todo])
        need = payloads.get(need_key)
        if need is None or "record" not in need:
            return tuple(items)
        query = need_query(need["record"], self.settings.max_text_chars)
        (text,) = self.matcher.query_texts([query])
        analyzer = self.matcher.analyzer
        terms = analyzer.analyse_query(text, analyzer.detect_language(text))
        explainer = Explainer(query_term_weights(terms), query, self.now().date(), lambda _: "weak")
        out = []
        for item in items:
            payload = None if item.why else payloads.get(item.key)
            if payload is None or "record" not in payload:
                out.append(item)
                continue
            cand = Scored(item.key, payload, item.score, 0.0, {})
            out.append(replace(item, why=explainer.item(cand).why.model_dump(mode="json")))
        return tuple(out)

    def _pools(self, arrivals: Sequence[Arrival], matrix: Vector) -> list[_Pool]:
        """The records that can alert, by pool, with their similarities to every need."""
        today = self.now().date()
        members: dict[str, list[Arrival]] = {}
        for a in arrivals:
            if a.withdrawn or (a.kind == "call" and a.deadline and a.deadline < today):
                continue  # in no match, so in no alert (and no competitor of one)
            members.setdefault(_pool(a.kind), []).append(a)
        pools = []
        for name, found in members.items():
            vectors = _unit(np.stack([a.vector for a in found]).astype(np.float32))
            ids = np.array([key_id(a.key) for a in found], np.int64)
            pools.append(_Pool(name, found, vectors, vectors @ matrix.T, ids))
        return pools

    def _pairs(
        self,
        pools: list[_Pool],
        needs: list[FollowedNeed],
        terms: NeedTerms,
        loaded: Loaded | None,
    ) -> list[tuple[str, str]]:
        """(need key, record key) pairs worth a reverse match, pool by pool."""
        pairs: list[tuple[str, str]] = []
        for pool in pools:
            members, similarity = pool.members, pool.similarity
            above = similarity >= self.min_similarity
            columns = np.flatnonzero(above.any(axis=0))
            if self.screen is None:
                found = [(int(c), int(r)) for r, c in np.argwhere(above)]
            else:
                batch = PoolBatch(
                    keys=[a.key for a in members],
                    sections=section_codes([a.kind for a in members]),
                    vectors=pool.vectors,
                    sparse=[a.sparse for a in members],
                    regions=[a.regions for a in members],
                )
                rows = self._need_rows(needs, columns, pool, loaded)
                found = self.screen.pairs(batch, rows, similarity, terms, columns)
            for column, row in found:
                need, arrival = needs[column], members[row]
                if need.key == arrival.key:
                    continue
                if arrival.kind == "need" and _same_organisation(need, arrival):
                    continue  # a need of one's own organisation is not a peer
                pairs.append((need.key, arrival.key))
        return pairs

    def _new_bars(
        self,
        loaded: Loaded,
        pools: list[_Pool],
        needs: list[FollowedNeed],
        checked: list[str],
        seen: list[dict[str, list[tuple[str, float]]]],
        now: datetime,
    ) -> list[Bar]:
        """Exact bars from the reverse matches run; the others grown by the batch (needs
        with a region filter only from their matches: not every record is in their pool)."""
        assert self.bars is not None
        bars: list[Bar] = []
        done: set[tuple[str, str]] = set()
        for need_key, pools_seen in zip(checked, seen, strict=True):
            for name, hits in pools_seen.items():
                bars.append(self.bars.exact(need_key, name, hits, now))
                done.add((need_key, name))
        for pool in pools:
            grow = [
                n
                for n, need in enumerate(needs)
                if (need.key, pool.name) not in done and not need.prepared.query.regions
            ]
            bars.extend(
                self.bars.grown(
                    loaded,
                    pool.name,
                    [needs[n].key for n in grow],
                    grow,
                    pool.similarity,
                    pool.ids,
                    now,
                )
            )
        return bars

    def _need_rows(
        self, needs: list[FollowedNeed], columns: np.ndarray, pool: _Pool, loaded: Loaded | None
    ) -> dict[int, NeedRow]:
        """Screening's view of the needs to screen (``columns``), by column."""
        feedback = self.matcher.feedback
        batch_ids = np.sort(pool.ids)
        rows = {}
        for n in columns.tolist():
            need = needs[n]
            rows[n] = NeedRow(
                key=need.key,
                regions=with_national(need.prepared.query.regions),
                boosts=feedback.boosts(need.prepared.vector) if feedback is not None else {},
                bar=(
                    BarBook.others(loaded, need.key, pool.name, batch_ids)
                    if loaded is not None
                    else None
                ),
            )
        return rows

    def baseline(self, need_key: str) -> int:
        """What a need's match shows today is what its followers already know: marked seen,
        so that the first alert is about something new. Returns how many were marked."""
        payloads = self.index.get([need_key])
        if need_key not in payloads:
            return 0
        query = need_query(payloads[need_key]["record"], self.settings.max_text_chars)
        result = self.matcher.match(
            Query(
                text=query.text,
                language=query.language,
                regions=query.regions,
                limit=self.settings.top,
            )
        )
        keys = [
            f"{item.kind}:{item.id}"
            for section in (result.solutions, result.funders)
            for item in section
        ]
        for peer in result.peers:
            keys.append(f"{peer.kind}:{peer.id}")
            keys.extend(f"{r.kind}:{r.id}" for r in peer.records)
        self.store.mark_seen(need_key, keys)
        return len(keys)


def alert_item(section: Section, cand: Scored, confidence: Confidence) -> AlertItem:
    """An alert item as a match would show the record (``Explainer.item``), without the
    reasons why (``Detector.explain`` adds them at delivery)."""
    payload = cand.payload
    record = payload["record"]
    deadline = None
    if payload["kind"] == "call" and not record.get("continuous") and record.get("deadline"):
        deadline = str(record["deadline"])
    return AlertItem(
        key=cand.key,
        id=str(payload["id"]),
        kind=str(payload["kind"]),
        section=section,
        title=record_title(record),
        score=round(min(1.0, cand.score), 4),
        confidence=confidence,
        why={},
        url=record.get("url"),
        deadline=deadline,
        funder=record.get("funder") if payload["kind"] == "call" else None,
    )


def arrival_from_payload(payload: dict[str, object], vector: Vector) -> Arrival:
    """An ``Arrival`` from an index payload (journal catch-up)."""
    return arrival_of(record_from_payload(payload), vector, None)


def arrival_of(record: BaseRecord, vector: Vector, sparse: SparseVector | None) -> Arrival:
    deadline = getattr(record, "deadline", None)
    return Arrival(
        key=record.key,
        kind=record.kind,
        organisation=record.organisation_name,
        deadline=deadline if isinstance(deadline, date) else None,
        vector=vector,
        sparse=sparse,
        regions=frozenset(normalise_name(r) for r in record.regions),
        withdrawn=record.withdrawn,
    )


@dataclass(frozen=True)
class _Pool:
    name: str  # "call" or "other"
    members: list[Arrival]
    vectors: Vector  # unit rows
    similarity: Vector  # members x needs
    ids: np.ndarray  # key ids of the members (``key_id``)


def _pool(kind: str) -> str:
    return "call" if kind == "call" else "other"


def _same_organisation(need: FollowedNeed, arrival: Arrival) -> bool:
    return bool(
        need.organisation
        and arrival.organisation
        and normalise_name(arrival.organisation) == need.organisation
    )


def _unit(rows: Vector) -> Vector:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Vector = (rows / norms).astype(np.float32)
    return unit


def _min_similarity(calibration: Calibration | None, confidence: Confidence) -> float:
    """The least dense similarity with which an item can reach ``confidence`` at all (with
    the best fused score there is): pairs below it are not worth matching."""
    if calibration is None or confidence == "weak":
        return -1.0  # uncalibrated: every item is "possible"; only rank decides
    floor = calibration.similarity_floor if calibration.similarity_floor is not None else -1.0
    cutoff = calibration.strong if confidence == "strong" else calibration.possible
    if calibration.weights is None:
        return max(floor, cutoff)
    a, b, c = calibration.weights
    if a <= 0 or not 0 < cutoff < 1:
        return floor
    logit = math.log(cutoff / (1 - cutoff))
    return max(floor, (logit - c - b * _MAX_SCORE) / a)
