"""Reverse matching: which followed needs would a match show these new records to?

For a batch of records just indexed, each with the dense vector the index stores:

1. Prefilter (numpy, cheap): the cosine of each record with every followed need's question
   vector is exactly the dense similarity a match for that need would see. Pairs below the
   similarity that the calibrated confidence needs (or the calibrated floor) cannot be
   alerted; of the rest, only each record's ``max_needs_per_record`` nearest needs go on.
2. Already known pairs (alerted before, or known when the need was followed) are dropped.
3. Each remaining need is matched once, as ``/v1/match`` would (``Matcher.reverse``): a
   record is kept when it is among the first ``top`` of its section with at least the
   configured confidence. Closed calls never; needs of the need's own organisation are not
   peers; a need is never its own alert.

What was decided is written in one transaction of the store (history, outbox, journal).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from simatch.alerts.competitors import Competitors
from simatch.domain.alerts import AlertItem, AlertStore, Found
from simatch.domain.confidence import Calibration
from simatch.domain.matcher import Matcher, PreparedQuery
from simatch.domain.payload import normalise_name
from simatch.domain.ports import Vector, VectorIndex
from simatch.domain.query import Query
from simatch.domain.records import record_from_payload
from simatch.domain.results import Confidence
from simatch.domain.stores import EmbeddingCache

log = logging.getLogger(__name__)

# The largest feedback boost a fused score can get (FeedbackSettings caps it at 1.0).
_MAX_SCORE = 2.0


@dataclass(frozen=True)
class DetectionSettings:
    min_confidence: Confidence = "possible"
    top: int = 10  # the record must be among the first ``top`` of its section
    max_needs_per_record: int = 50  # nearest needs matched per record at most
    max_text_chars: int = 4000  # of a need's question (the Matcher's limit)


@dataclass(frozen=True)
class Arrival:
    """A record just indexed, as detection needs it."""

    key: str
    kind: str
    organisation: str | None
    deadline: date | None
    vector: Vector  # as stored in the index (centred for its language)


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

    def current(self, changed_needs: Sequence[str] = ()) -> tuple[list[FollowedNeed], Vector]:
        """The followed needs and their question vectors (rows, unit length)."""
        with self._lock:
            version = self.store.version()
            stale = [k for k in changed_needs if k in self._needs]
            if version != self._version or stale:
                self._reload(stale)
                self._version = version
            return [self._needs[k] for k in self._order], self._matrix

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
        competitors: Competitors | None = None,
    ) -> None:
        self.matcher = matcher
        self.competitors = competitors  # prunes needs a record cannot reach (None: none)
        self.checked = 0  # needs matched the other way round (for benchmarks and tests)
        self.index = index
        self.store = store
        self.settings = settings or DetectionSettings()
        self.calibration = calibration
        self.now = now
        self.needs = NeedBook(matcher, index, store, self.settings.max_text_chars, cache)
        self.min_similarity = _min_similarity(calibration, self.settings.min_confidence)

    def detect(self, arrivals: Sequence[Arrival], journal_ids: Sequence[int] = ()) -> int:
        """Check the records against the followed needs and write what was found (and the
        journal entries done) in one transaction. Returns the alert items written."""
        changed_needs = [a.key for a in arrivals if a.kind == "need"]
        if self.competitors is not None:
            for key in changed_needs:
                self.competitors.forget(key)
        needs, matrix = self.needs.current(changed_needs)
        found = self._find(arrivals, needs, matrix) if needs and arrivals else []
        if not found and not journal_ids:
            return 0
        return self.store.record_detection(found, journal_ids, self.now())

    def _find(
        self, arrivals: Sequence[Arrival], needs: list[FollowedNeed], matrix: Vector
    ) -> list[Found]:
        today = self.now().date()
        candidates = [
            a for a in arrivals if not (a.kind == "call" and a.deadline and a.deadline < today)
        ]
        if not candidates:
            return []
        vectors = _unit(np.stack([a.vector for a in candidates]).astype(np.float32))
        similarity = vectors @ matrix.T  # records x needs
        pairs: list[tuple[str, str]] = []
        limit = min(self.settings.max_needs_per_record, len(needs))
        prune = self.competitors
        for row, arrival in enumerate(candidates):
            scores = similarity[row]
            nearest = (
                np.argpartition(-scores, limit - 1)[:limit]
                if limit < len(needs)
                else range(0, limit)
            )
            pool = _pool(arrival.kind)
            for col in nearest:
                score = float(scores[col])
                if score < self.min_similarity:
                    continue
                need = needs[int(col)]
                if need.key == arrival.key:
                    continue
                if arrival.kind == "need" and _same_organisation(need, arrival):
                    continue  # a need of one's own organisation is not a peer
                if prune is not None and prune.hopeless(need.key, pool, score, arrival.key):
                    continue
                pairs.append((need.key, arrival.key))
        fresh = self.store.unseen(pairs)
        by_need: dict[str, list[str]] = {}
        for need_key, record_key in pairs:
            if (need_key, record_key) in fresh:
                by_need.setdefault(need_key, []).append(record_key)
        book = {n.key: n for n in needs}
        order = list(by_need)
        seen: list[dict[str, list[float]]] = []
        shown_all = (
            self.matcher.reverse_many(
                [(book[k].prepared, by_need[k]) for k in order],
                self.settings.top,
                least=self.settings.min_confidence,
                dense_seen=seen,
            )
            if order
            else []
        )
        self.checked += len(order)
        if prune is not None:
            feedback = self.matcher.feedback
            for need_key, pools in zip(order, seen, strict=True):
                vector = book[need_key].prepared.vector
                boosts = feedback.boosts(vector) if feedback is not None else {}
                for pool, sims in pools.items():
                    prune.remember(need_key, pool, sims, boosts)
            self._add_competitors(prune, candidates, needs, similarity)
        found: list[Found] = []
        for need_key, shown in zip(order, shown_all, strict=True):
            items = tuple(
                AlertItem(
                    key=f"{item.kind}:{item.id}",
                    id=item.id,
                    kind=item.kind,
                    section=section,
                    title=item.title,
                    score=item.score,
                    confidence=item.confidence,
                    why=item.why.model_dump(mode="json"),
                    url=item.url,
                    deadline=item.deadline.isoformat() if item.deadline else None,
                    funder=item.funder,
                )
                for section, item in shown
            )
            if items:
                found.append(Found(need_key, items))
        return found

    @staticmethod
    def _add_competitors(
        prune: Competitors, arrivals: Sequence[Arrival], needs: list[FollowedNeed], sims: Vector
    ) -> None:
        """This batch's records compete with later ones for every need's attention (needs
        with a region filter are left as they are: not every record is in their pool)."""
        for pool in ("call", "other"):
            rows = [i for i, a in enumerate(arrivals) if _pool(a.kind) == pool]
            if not rows:
                continue
            part = sims[rows]
            for col, need in enumerate(needs):
                if not need.prepared.query.regions:
                    prune.add(need.key, pool, part[:, col])

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


def arrival_from_payload(payload: dict[str, object], vector: Vector) -> Arrival:
    """An ``Arrival`` from an index payload (journal catch-up)."""
    record = record_from_payload(payload)
    deadline = getattr(record, "deadline", None)
    return Arrival(
        key=record.key,
        kind=record.kind,
        organisation=record.organisation_name,
        deadline=deadline if isinstance(deadline, date) else None,
        vector=vector,
    )


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
    if calibration is None:
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
