"""The Matcher: one described problem in, solutions, peers and funders out.

Retrieval runs two channels over the index: dense (multilingual embedding) and lexical
(lemmas plus dictionary translations, IDF-weighted sparse vectors). They are fused with
weighted reciprocal-rank fusion, which needs no score calibration between the channels.

Language must not matter (issue 5): dense vectors are centred per language
(``LanguageCentring``: records at ingest, the question here) so that a Finnish question does
not prefer Finnish records for being Finnish, and the lexical channel translates the question
(``simatch.text``). Both channels are then about equally good across languages, so they are
fused with equal weights. Measured figures: ``benchmarks/README.md``, "Match quality".

Confidence per item comes from a ``Calibration`` fitted on judged data (``simatch eval
--calibrate``). When nothing is better than weak, the result says ``no_good_match`` and keeps
at most ``MatchTuning.weak_items`` items per section instead of padding the list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from simatch.domain.centring import LanguageCentring
from simatch.domain.confidence import Calibration
from simatch.domain.evidence import best_passage, query_term_weights
from simatch.domain.payload import NATIONAL_REGIONS, normalise_name, record_title
from simatch.domain.ports import (
    Embedder,
    FeedbackBoosts,
    Hit,
    QueryTerms,
    Search,
    SearchFilter,
    SparseVector,
    TextAnalyzer,
    Vector,
    VectorIndex,
)
from simatch.domain.query import DEFAULT_LIMIT, Query
from simatch.domain.results import (
    Confidence,
    MatchItem,
    MatchResult,
    QueryInfo,
    Reason,
    RecordRef,
    Why,
)
from simatch.errors import InvalidInput, TextTooLong

_CONFIDENCE_ORDER: dict[Confidence, int] = {"weak": 0, "possible": 1, "strong": 2}


Channel = Literal["dense", "lexical"]
CHANNELS: tuple[Channel, ...] = ("dense", "lexical")


@dataclass(frozen=True)
class MatchTuning:
    # Equal weights: with centred dense vectors and translated lexical terms, both channels
    # are about equally good and equally language-neutral (benchmarks/README.md).
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rrf_k: int = 60
    candidates: int = 60  # per channel and pool
    max_text_chars: int = 4000
    funders_from_top: int = 10  # innovations whose funders count as "funded similar work"
    weak_items: int = 2  # items kept per section when there is no good match


@dataclass
class Scored:
    """A candidate after fusion."""

    key: str
    payload: dict[str, Any]
    score: float
    similarity: float  # dense cosine, or the best seen; 0 when only lexical found it
    ranks: dict[str, int]


# (score, organisation, members best first)
PeerGroup = tuple[float, str, list[Scored]]
# (score, id or slug, an open call or (funder name, innovations it funded))
FunderEntry = tuple[float, str, "Scored | tuple[str, list[Scored]]"]


class Matcher:
    def __init__(
        self,
        embedder: Embedder,
        index: VectorIndex,
        analyzer: TextAnalyzer,
        tuning: MatchTuning | None = None,
        calibration: Calibration | None = None,
        feedback: FeedbackBoosts | None = None,
        today: Callable[[], date] = date.today,
        centring: LanguageCentring | None = None,
    ) -> None:
        self.embedder = embedder
        self.index = index
        self.analyzer = analyzer
        self.tuning = tuning or MatchTuning()
        self.calibration = calibration
        self.feedback = feedback
        self._today = today
        self.centring = centring

    # -- public -----------------------------------------------------------------------------

    def match(self, query: Query) -> MatchResult:
        return self.match_with_vector(query)[0]

    def match_with_vector(self, query: Query) -> tuple[MatchResult, Vector]:
        """``match`` plus the query's dense vector (the match log keeps it for feedback).

        The vector returned is the model's own (not centred), so that feedback similarity
        stays comparable across changes of the language means. How many matches run at once
        is the caller's to limit (``MatchService``).
        """
        text = self._check(query)
        today = query.today or self._today()
        detected = self.analyzer.detect_language(text)
        vector = self.embedder.embed_queries([text])[0]
        search_vector = self._search_vector(vector, detected)
        terms = self.analyzer.analyse_query(text, detected)
        boosts = self.feedback.boosts(vector) if self.feedback else {}

        base = SearchFilter(
            regions=_with_national(query.regions),
            target_groups=tuple(normalise_name(t) for t in query.target_groups),
        )
        want = query.sections
        top = query.offset + _limit(query)
        pool = self.tuning.candidates + query.offset

        result = MatchResult(
            query=QueryInfo(
                language=query.language or detected,
                detected=detected,
                regions=list(query.regions),
                target_groups=list(query.target_groups),
            )
        )
        weights = query_term_weights(terms)

        non_call_kinds = query.kinds or ("innovation", "need", "actor")
        # Every section needs the non-call records (funders: who funded similar innovations).
        filters = [_replace(base, kinds=non_call_kinds)]
        if "funders" in want:
            filters.append(_replace(base, kinds=("call",), open_on=today))
        others, *rest = self._retrieve(search_vector, terms, filters, pool, boosts)
        calls = rest[0] if rest else []
        innovations = [c for c in others if c.payload["kind"] == "innovation"]
        # Pick what each section shows, read those records whole in one go, then explain them.
        window = slice(query.offset, top)
        solutions = innovations[window] if "solutions" in want else []
        peers = self._peer_groups(others)[window] if "peers" in want else []
        funders = self._funder_entries(calls, others)[window] if "funders" in want else []
        self._hydrate(
            [
                *solutions,
                *(m for _, _, members in peers for m in members if m is members[0] or _is_actor(m)),
                *(entry for _, _, entry in funders if isinstance(entry, Scored)),
            ]
        )
        result.solutions = [self._item(c, weights, query, today) for c in solutions]
        result.peers = self._peer_items(peers, weights, query, today)
        result.funders = self._funder_items(funders, weights, query, today)

        pools = []
        if "solutions" in want or "funders" in want:
            pools.append(innovations)
        if "peers" in want:
            pools.append(others)
        if "funders" in want:
            pools.append(calls)
        self._grade(result, pools, top)
        return result, vector

    def rank(
        self, query: Query, channels: Sequence[Channel] = CHANNELS, limit: int | None = None
    ) -> list[Scored]:
        """Records of ``query.kinds`` (default: all kinds) ranked as ``match`` ranks them,
        without grouping into sections; closed calls are left out. For evaluation and
        debugging: ``channels=("dense",)`` or ``("lexical",)`` ranks by one channel alone."""
        text = self._check(query)
        today = query.today or self._today()
        detected = self.analyzer.detect_language(text)
        vector = self._search_vector(self.embedder.embed_queries([text])[0], detected)
        terms = self.analyzer.analyse_query(text, detected)
        flt = SearchFilter(
            kinds=tuple(query.kinds),
            regions=_with_national(query.regions),
            target_groups=tuple(normalise_name(t) for t in query.target_groups),
            open_on=today,
        )
        limit = limit or self.tuning.candidates
        return self._retrieve(vector, terms, [flt], limit, {}, tuple(channels))[0]

    # -- retrieval --------------------------------------------------------------------------

    def _check(self, query: Query) -> str:
        text = _clean(query.text)
        if not text:
            raise InvalidInput("The text is empty.", {"field": "text"})
        if len(text) > self.tuning.max_text_chars:
            raise TextTooLong(
                f"The text is longer than {self.tuning.max_text_chars} characters.",
                {"field": "text", "max": self.tuning.max_text_chars},
            )
        if _limit(query) < 1:
            raise InvalidInput("limit must be at least 1.", {"field": "limit"})
        return text

    def _search_vector(self, vector: Vector, language: str) -> Vector:
        """The question's vector as the index stores records: centred for its language."""
        if self.centring is None:
            return vector
        return self.centring.centre_query(vector, language)

    def _retrieve(
        self,
        vector: Vector,
        terms: QueryTerms,
        filters: list[SearchFilter],
        limit: int,
        boosts: dict[str, float],
        channels: tuple[Channel, ...] = CHANNELS,
    ) -> list[list[Scored]]:
        """One fused ranking per filter, from one batch of searches."""
        none = SparseVector([], [])  # a channel left out: the index skips empty searches
        searches: list[Search] = []
        for flt in filters:
            searches.append(Search(vector if "dense" in channels else none, flt, limit))
            searches.append(Search(terms.sparse if "lexical" in channels else none, flt, limit))
        found = self.index.search_batch(searches)
        tuning = self.tuning
        if channels != CHANNELS:
            tuning = replace(
                tuning,
                dense_weight=1.0 if "dense" in channels else 0.0,
                lexical_weight=1.0 if "lexical" in channels else 0.0,
            )
        return [
            _fuse(tuning, dense, lexical, boosts)
            for dense, lexical in zip(found[0::2], found[1::2], strict=True)
        ]

    def fuse(
        self, dense: Sequence[Hit], lexical: Sequence[Hit], boosts: dict[str, float] | None = None
    ) -> list[Scored]:
        return _fuse(self.tuning, dense, lexical, boosts)

    # -- sections ---------------------------------------------------------------------------

    @staticmethod
    def _peer_groups(candidates: list[Scored]) -> list[PeerGroup]:
        groups: dict[str, list[Scored]] = {}
        for cand in candidates:
            org = cand.payload.get("organisation")
            if org:
                groups.setdefault(org, []).append(cand)
        # More records on the same problem make a stronger peer (up to +10 %), rescaled so
        # that the score stays in 0..1 and comparable with the other sections. Candidates are
        # sorted, so each group's first member is its best.
        ranked = sorted(
            (
                (m[0].score * (1 + 0.05 * min(2, len(m) - 1)) / 1.1, org, m)
                for org, m in groups.items()
            ),
            key=lambda g: (-g[0], g[1]),
        )
        return ranked

    def _peer_items(
        self, shown: list[PeerGroup], weights: Any, query: Query, today: date
    ) -> list[MatchItem]:
        peers: list[MatchItem] = []
        for score, _, members in shown:
            lead = members[0]
            actor = next((m for m in members if _is_actor(m)), None)
            record = (actor or lead).payload["record"]
            name = record.get("name") or record.get("organisation") or lead.payload["organisation"]
            item = self._item(lead, weights, query, today)
            item.id = actor.payload["id"] if actor else _slug(name)
            item.kind = "actor" if actor else "organisation"
            item.title = name
            item.url = record.get("url") if actor else None
            item.organisation = name
            item.score = round(min(1.0, score), 4)
            item.records = [
                RecordRef(
                    id=m.payload["id"],
                    kind=m.payload["kind"],
                    title=str(m.payload.get("title") or m.payload["id"]),
                    score=round(m.score, 4),
                )
                for m in members
                if not _is_actor(m)
            ][:5]
            if item.records:
                item.why.reasons.append(
                    Reason(code="peer_records", params={"count": len(item.records)})
                )
            peers.append(item)
        return peers

    def _funder_entries(self, calls: list[Scored], others: list[Scored]) -> list[FunderEntry]:
        # Funders of the most similar innovations are funders of "this kind of work".
        funded: dict[str, tuple[str, list[Scored]]] = {}
        top_innovations = [c for c in others if c.payload["kind"] == "innovation"]
        for cand in top_innovations[: self.tuning.funders_from_top]:
            for funder in cand.payload.get("funders") or []:
                funded.setdefault(normalise_name(funder), (funder, []))[1].append(cand)
        entries: list[FunderEntry] = [(c.score, c.payload["id"], c) for c in calls]
        for name, members in funded.values():
            # Ranked a little below an open call of equal relevance: a call can be applied to now.
            best = max(m.score for m in members)
            score = 0.85 * best * (1 + 0.05 * min(2, len(members) - 1)) / 1.1
            entries.append((score, _slug(name), (name, members)))
        entries.sort(key=lambda e: (-e[0], e[1]))
        return entries

    def _funder_items(
        self, shown: list[FunderEntry], weights: Any, query: Query, today: date
    ) -> list[MatchItem]:
        items: list[MatchItem] = []
        for score, slug, entry in shown:
            if isinstance(entry, Scored):
                items.append(self._item(entry, weights, query, today))
                continue
            name, members = entry
            refs = [
                RecordRef(
                    id=m.payload["id"],
                    kind="innovation",
                    title=str(m.payload.get("title") or m.payload["id"]),
                    score=round(m.score, 4),
                )
                for m in members[:5]
            ]
            items.append(
                MatchItem(
                    id=slug,
                    kind="funder",
                    title=name,
                    score=round(min(1.0, score), 4),
                    confidence=self._confidence(members[0]),
                    why=Why(
                        passage=refs[0].title,
                        reasons=[
                            Reason(
                                code="funded_similar",
                                params={"count": len(refs), "titles": [r.title for r in refs[:3]]},
                            )
                        ],
                    ),
                    records=refs,
                )
            )
        return items

    def _hydrate(self, candidates: Iterable[Scored]) -> list[Scored]:
        """Whole payloads for the candidates about to be shown (searches return only the
        search fields). A record deleted since the search keeps a minimal payload."""
        wanted = list(candidates)
        missing = [c.key for c in wanted if "record" not in c.payload]
        if missing:
            found = self.index.get(missing)
            for cand in wanted:
                if "record" not in cand.payload:
                    cand.payload = found.get(cand.key) or _minimal(cand.payload)
        return wanted

    def _item(self, cand: Scored, weights: Any, query: Query, today: date) -> MatchItem:
        payload = cand.payload
        record = payload["record"]
        passage, terms = best_passage(payload.get("passages", []), weights)
        reasons: list[Reason] = [
            Reason(code="passage", params={"language": record.get("language")})
        ]
        if terms:
            reasons.append(Reason(code="terms", params={"terms": terms[:6]}))
        wanted_regions = {normalise_name(r) for r in query.regions}
        served = [r for r in record.get("regions", []) if normalise_name(r) in wanted_regions]
        national = any(r in NATIONAL_REGIONS for r in payload.get("regions", []))
        if served:
            reasons.append(Reason(code="region", params={"regions": served}))
        elif wanted_regions and national:
            reasons.append(Reason(code="region", params={"regions": ["national"]}))
        elif payload["kind"] == "call" and record.get("regions"):
            # Where a call is open is part of its eligibility, asked for or not.
            regions = ["national"] if national else list(record["regions"])
            reasons.append(Reason(code="region", params={"regions": regions}))
        wanted_groups = {normalise_name(t) for t in query.target_groups}
        groups = [g for g in record.get("target_groups", []) if normalise_name(g) in wanted_groups]
        if groups:
            reasons.append(Reason(code="target_group", params={"target_groups": groups}))
        item = MatchItem(
            id=payload["id"],
            kind=payload["kind"],
            title=record_title(record),
            score=round(min(1.0, cand.score), 4),
            confidence=self._confidence(cand),
            url=record.get("url"),
            language=record.get("language"),
            organisation=record.get("organisation") or record.get("name"),
            regions=list(record.get("regions", [])),
            why=Why(
                passage=passage,
                passage_language=record.get("language"),
                terms=terms[:6],
                reasons=reasons,
            ),
        )
        if payload["kind"] == "call":
            deadline = date.fromisoformat(record["deadline"])
            item.funder = record.get("funder")
            item.programme = record.get("programme")
            item.deadline = deadline
            item.days_to_deadline = (deadline - today).days
            item.why.reasons.append(
                Reason(
                    code="deadline",
                    params={"deadline": deadline.isoformat(), "days": item.days_to_deadline},
                )
            )
            if record.get("eligible_applicants"):
                item.why.reasons.append(
                    Reason(code="applicants", params={"applicants": record["eligible_applicants"]})
                )
        return item

    def _confidence(self, cand: Scored) -> Confidence:
        if self.calibration is None:
            return "possible"
        return self.calibration.classify(cand.similarity, cand.score)

    def _grade(self, result: MatchResult, pools: list[list[Scored]], top: int) -> None:
        """The result's confidence is that of its best candidate on the first ``top`` ranks of
        any pool behind a section (so "show more" pages are graded like the first page),
        unless even the most similar of them is below the calibrated floor: then nothing
        fits and every item is weak. Without a good match, each section keeps only its
        ``weak_items`` best items."""
        candidates = [cand for pool in pools for cand in pool[:top]]
        best: Confidence = "weak"
        for cand in candidates:
            found = self._confidence(cand)
            if _CONFIDENCE_ORDER[found] > _CONFIDENCE_ORDER[best]:
                best = found
        best_similarity = max((c.similarity for c in candidates), default=0.0)
        if self.calibration is not None and self.calibration.nothing_fits(best_similarity):
            best = "weak"
        result.confidence = best
        result.no_good_match = best == "weak"
        if result.no_good_match:
            keep = self.tuning.weak_items
            result.solutions = result.solutions[:keep]
            result.peers = result.peers[:keep]
            result.funders = result.funders[:keep]
            for item in (*result.solutions, *result.peers, *result.funders):
                item.confidence = "weak"


def _fuse(
    t: MatchTuning,
    dense: Sequence[Hit],
    lexical: Sequence[Hit],
    boosts: dict[str, float] | None = None,
) -> list[Scored]:
    """Weighted reciprocal-rank fusion; rank 1 in every weighted channel scores 1.0."""
    k = t.rrf_k
    found: dict[str, Scored] = {}
    for channel, hits, weight in (
        ("dense", dense, t.dense_weight),
        ("lexical", lexical, t.lexical_weight),
    ):
        for rank, hit in enumerate(hits, start=1):
            entry = found.get(hit.key)
            if entry is None:
                entry = found[hit.key] = Scored(hit.key, hit.payload, 0.0, 0.0, {})
            entry.score += weight / (k + rank)
            entry.ranks[channel] = rank
            if channel == "dense":
                entry.similarity = hit.score
    # Normalise so that rank 1 in every channel scores 1.0.
    best = sum(w for w in (t.dense_weight, t.lexical_weight) if w > 0) / (k + 1)
    for entry in found.values():
        entry.score = entry.score / best if best else 0.0
        if boosts and entry.key in boosts:
            entry.score = max(0.0, entry.score + boosts[entry.key])
    return sorted(found.values(), key=lambda e: (-e.score, e.key))


def _limit(query: Query) -> int:
    return DEFAULT_LIMIT if query.limit is None else query.limit


def _clean(text: str) -> str:
    return " ".join(text.split())


def _with_national(regions: Sequence[str]) -> tuple[str, ...]:
    if not regions:
        return ()
    return tuple(dict.fromkeys([*(normalise_name(r) for r in regions), *NATIONAL_REGIONS]))


def _replace(flt: SearchFilter, **changes: Any) -> SearchFilter:
    return replace(flt, **changes)


def _is_actor(cand: Scored) -> bool:
    return bool(cand.payload["kind"] == "actor")


def _minimal(light: dict[str, Any]) -> dict[str, Any]:
    record = {
        "kind": light.get("kind"),
        "id": light.get("id"),
        "title": light.get("title"),
        "language": light.get("language"),
    }
    if light.get("kind") == "call" and light.get("deadline_day") is not None:
        record["deadline"] = date.fromordinal(int(light["deadline_day"])).isoformat()
    return {**light, "record": record, "passages": []}


def _slug(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", name.casefold()).strip("-")
    return slug or "unknown"


__all__ = ["FeedbackBoosts", "MatchTuning", "Matcher", "Scored"]
