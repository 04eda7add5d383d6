"""The Matcher: one described problem in, solutions, peers and funders out.

Retrieval runs two channels over the index: dense (multilingual embedding) and lexical
(lemmas plus dictionary translations, IDF-weighted sparse vectors). They are fused with
weighted reciprocal-rank fusion, which needs no score calibration between the channels
(or by standardised scores, ``SIMATCH_FUSION=zscore``; ``fusion``).

Language must not matter (issues 5 and 10): dense vectors live in a language-neutral space
(``LanguageCentring``: records at ingest, the question here; the shared mean removed, records
in another language lifted onto the question's scale) so that a Finnish question does not
prefer Finnish records for being Finnish, and the lexical channel translates the question
(``simatch.text``). Both channels are then about equally good across languages, so they are
fused with equal weights. Measured figures: ``benchmarks/README.md``, "Match quality".

Confidence per item comes from a ``Calibration`` fitted on judged data (``simatch eval
--calibrate``). When the calibration says nothing in the index is about the question, the
result says ``no_good_match`` and keeps at most ``MatchTuning.weak_items`` items per section
instead of padding the list.

This module retrieves and grades; ``fusion`` fuses the channels, ``sections`` groups peers
and funders, ``explain`` writes the items and their reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Any

from simatch.domain.centring import LanguageCentring
from simatch.domain.confidence import Calibration
from simatch.domain.evidence import query_term_weights
from simatch.domain.explain import Explainer
from simatch.domain.fusion import CHANNELS, Channel, Fusion, Scored, fuse, fuse_ranked
from simatch.domain.payload import minimal_payload, normalise_name, with_national
from simatch.domain.ports import (
    Embedder,
    FeedbackBoosts,
    Hit,
    QueryTerms,
    Ranking,
    Search,
    SearchFilter,
    SparseVector,
    TextAnalyzer,
    Vector,
    VectorIndex,
)
from simatch.domain.query import DEFAULT_LIMIT, Query
from simatch.domain.results import Confidence, MatchItem, MatchResult, QueryInfo, Section
from simatch.domain.sections import OpenCall, funder_entries, is_actor, peer_groups
from simatch.errors import InvalidInput, TextTooLong

_CONFIDENCE_ORDER: dict[Confidence, int] = {"weak": 0, "possible": 1, "strong": 2}


@dataclass(frozen=True)
class MatchTuning:
    # Equal weights: with centred dense vectors and translated lexical terms, both channels
    # are about equally good and equally language-neutral (benchmarks/README.md).
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rrf_k: int = 60
    fusion: Fusion = "rrf"
    candidates: int = 60  # per channel and pool
    max_text_chars: int = 4000
    funders_from_top: int = 10  # innovations whose funders count as "funded similar work"
    weak_items: int = 2  # items kept per section when there is no good match

    def fuse_ranked(
        self, dense: Ranking, lexical: Ranking, boosts: dict[str, float] | None = None
    ) -> list[tuple[str, float]]:
        return fuse_ranked(dense, lexical, boosts=boosts, **self._fusion_settings())

    def fuse(
        self, dense: Sequence[Hit], lexical: Sequence[Hit], boosts: dict[str, float] | None = None
    ) -> list[Scored]:
        return fuse(dense, lexical, boosts=boosts, **self._fusion_settings())

    def _fusion_settings(self) -> dict[str, Any]:
        """The settings both fusions take, so that matching and alerts fuse alike."""
        return {
            "rrf_k": self.rrf_k,
            "dense_weight": self.dense_weight,
            "lexical_weight": self.lexical_weight,
            "method": self.fusion,
        }


@dataclass(frozen=True)
class PreparedQuery:
    """A question embedded and analysed once, to be ranked against again and again (a
    followed need, checked against every import: ``Matcher.reverse``)."""

    query: Query
    detected: str
    vector: Vector  # the model's own (feedback boosts compare these)
    search_vector: Vector  # centred as the index stores records
    terms: QueryTerms


def section_of(kind: str) -> Section:
    """The section a record of this kind is shown in."""
    return {"innovation": "solutions", "call": "funders"}.get(kind, "peers")  # type: ignore[return-value]


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
            regions=with_national(query.regions),
            target_groups=tuple(normalise_name(t) for t in query.target_groups),
            active_only=True,
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

        non_call_kinds = query.kinds or ("innovation", "need", "actor")
        # Every section needs the non-call records (funders: who funded similar innovations).
        filters = [replace(base, kinds=non_call_kinds)]
        if "funders" in want:
            filters.append(replace(base, kinds=("call",), open_on=today))
        others, *rest = self._retrieve(search_vector, terms, filters, pool, boosts, detected)
        calls = rest[0] if rest else []
        innovations = [c for c in others if c.payload["kind"] == "innovation"]
        # Pick what each section shows, read those records whole in one go, then explain them.
        window = slice(query.offset, top)
        solutions = innovations[window] if "solutions" in want else []
        peers = peer_groups(others)[window] if "peers" in want else []
        funders = (
            funder_entries(calls, others, self.tuning.funders_from_top)[window]
            if "funders" in want
            else []
        )
        self._hydrate(
            [
                *solutions,
                *(m for g in peers for m in g.members if m is g.lead or is_actor(m)),
                *(entry.call for entry in funders if isinstance(entry, OpenCall)),
            ]
        )
        explain = Explainer(query_term_weights(terms), query, today, self._confidence)
        result.solutions = [explain.item(c) for c in solutions]
        result.peers = [explain.peer(g) for g in peers]
        result.funders = [explain.funder(e) for e in funders]

        pools = []
        if "solutions" in want or "funders" in want:
            pools.append(innovations)
        if "peers" in want:
            pools.append(others)
        if "funders" in want:
            pools.append(calls)
        self._grade(result, pools, top, detected)
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
            regions=with_national(query.regions),
            target_groups=tuple(normalise_name(t) for t in query.target_groups),
            open_on=today,
            active_only=True,
        )
        limit = limit or self.tuning.candidates
        return self._retrieve(vector, terms, [flt], limit, {}, detected, tuple(channels))[0]

    def query_texts(self, queries: Sequence[Query]) -> list[str]:
        """The texts ``prepare`` embeds (checked and cleaned as a match cleans them)."""
        return [self._check(q) for q in queries]

    def prepare(
        self, queries: Sequence[Query], vectors: Sequence[Vector] | None = None
    ) -> list[PreparedQuery]:
        """Embed and analyse questions in one batch (for ``reverse``); ``vectors``: their
        query embeddings when already known (a cache), in order."""
        texts = self.query_texts(queries)
        if not texts:
            return []
        detected = [self.analyzer.detect_language(t) for t in texts]
        if vectors is None:
            vectors = list(self.embedder.embed_queries(texts))
        return [
            PreparedQuery(
                query=q,
                detected=lang,
                vector=vector,
                search_vector=self._search_vector(vector, lang),
                terms=self.analyzer.analyse_query(text, lang),
            )
            for q, text, lang, vector in zip(queries, texts, detected, vectors, strict=True)
        ]

    def reverse(
        self, prepared: PreparedQuery, keys: Collection[str], top: int
    ) -> list[tuple[Section, MatchItem]]:
        """Matching the other way round: which of the records ``keys`` would a match for
        ``prepared`` show among the first ``top`` items of their section, and how would it
        grade and explain them. Same retrieval, fusion, feedback and confidence as ``match``
        (closed calls never); an item less similar than the calibrated floor is weak, as a
        whole result would be. Peers are the records themselves (a need, an actor), not
        grouped by organisation: an alert is about one new record."""
        return self.reverse_many([(prepared, keys)], top)[0]

    def reverse_many(
        self,
        requests: Sequence[tuple[PreparedQuery, Collection[str]]],
        top: int,
        least: Confidence = "weak",
        dense_seen: list[dict[str, list[tuple[str, float]]]] | None = None,
    ) -> list[list[tuple[Section, MatchItem]]]:
        """``reverse`` for many questions, with every search in one batch to the engine and
        the shown records read in one go; items graded below ``least`` are left out.
        ``dense_seen`` receives, per request, the dense hits (key, similarity) of each pool
        searched ("call" or "other"; best first), for callers that prune later checks."""
        graded = self.reverse_graded(requests, top, least, dense_seen)
        results = []
        for (prepared, _), shown in zip(requests, graded, strict=True):
            query = prepared.query
            today = query.today or self._today()
            grades = {id(c): confidence for _, c, confidence in shown}
            explain = Explainer(
                query_term_weights(prepared.terms), query, today, partial(_graded, grades)
            )
            results.append([(section, explain.item(c)) for section, c, _ in shown])
        return results

    def reverse_graded(
        self,
        requests: Sequence[tuple[PreparedQuery, Collection[str]]],
        top: int,
        least: Confidence = "weak",
        dense_seen: list[dict[str, list[tuple[str, float]]]] | None = None,
    ) -> list[list[tuple[Section, Scored, Confidence]]]:
        """``reverse_many`` without the explanations: each shown record's candidate (its
        payload whole) and confidence, for callers that explain later (alerts: at delivery).

        The engine gives keys and scores alone (``VectorIndex.rank_batch``), fused in the
        same order and with the same scores as a match fuses its hits (``fuse_ranked``);
        only the records shown are read whole. A record deleted before it is read is left
        out."""
        searches: list[Search] = []
        plans: list[tuple[int, int, dict[str, float]]] = []  # first search, pools, boosts
        for prepared, keys in requests:
            filters = self._reverse_filters(prepared.query, keys)
            boosts = self.feedback.boosts(prepared.vector) if self.feedback else {}
            plans.append((len(searches), len(filters), boosts))
            for flt in filters:
                searches.append(Search(prepared.search_vector, flt, self.tuning.candidates))
                searches.append(Search(prepared.terms.sparse, flt, self.tuning.candidates))
        found = self.index.rank_batch(searches) if searches else []

        chosen: list[list[Scored]] = []
        for (_, keys), (first, pools, boosts) in zip(requests, plans, strict=True):
            wanted = set(keys)
            shown: list[Scored] = []
            for n in range(pools):
                dense, lexical = found[first + 2 * n], found[first + 2 * n + 1]
                rank: dict[Section, int] = {}
                for key, score in self.tuning.fuse_ranked(dense, lexical, boosts):
                    section = section_of(key.split(":", 1)[0])
                    rank[section] = rank.get(section, 0) + 1
                    if rank[section] <= top and key in wanted:
                        shown.append(_candidate(key, score, dense, lexical))
            chosen.append(shown)
            if dense_seen is not None:
                pools_seen: dict[str, list[tuple[str, float]]] = {}
                for n in range(pools):
                    flt = searches[first + 2 * n].flt
                    name = "call" if flt.kinds == ("call",) else "other"
                    hits = found[first + 2 * n]
                    pools_seen[name] = list(zip(hits.keys, hits.scores, strict=True))
                dense_seen.append(pools_seen)
        payloads = self.index.get(list({c.key for shown in chosen for c in shown}))

        def grade(cand: Scored, language: str) -> Confidence:
            self._set_lift(cand, language)
            if self.calibration is not None and self.calibration.nothing_fits(
                cand.similarity, cand.score, _other_language(cand, language), cand.lift
            ):
                return "weak"
            return self._confidence(cand)

        results = []
        for (prepared, _), shown in zip(requests, chosen, strict=True):
            graded = []
            for cand in shown:
                if cand.key not in payloads:
                    continue
                cand.payload = payloads[cand.key]
                confidence = grade(cand, prepared.detected)
                if _CONFIDENCE_ORDER[confidence] >= _CONFIDENCE_ORDER[least]:
                    graded.append((section_of(cand.payload["kind"]), cand, confidence))
            results.append(graded)
        return results

    def _reverse_filters(self, query: Query, keys: Collection[str]) -> list[SearchFilter]:
        """The pools a match of ``query`` would rank these records in (closed calls never)."""
        today = query.today or self._today()
        base = SearchFilter(
            regions=with_national(query.regions),
            target_groups=tuple(normalise_name(t) for t in query.target_groups),
            active_only=True,  # what a source withdrew is in no match, so in no alert
        )
        kinds = {key.split(":", 1)[0] for key in keys}
        filters = []
        if kinds - {"call"}:
            filters.append(replace(base, kinds=("innovation", "need", "actor")))
        if "call" in kinds:
            filters.append(replace(base, kinds=("call",), open_on=today))
        return filters

    # -- retrieval --------------------------------------------------------------------------

    def _check(self, query: Query) -> str:
        text = _clean(query.text)
        if not text:
            raise InvalidInput("The text is empty.", {"field": "text"})
        # The text as sent, not as cleaned: the limit a caller can check before sending.
        if len(query.text) > self.tuning.max_text_chars:
            raise TextTooLong(
                f"The text is longer than {self.tuning.max_text_chars} characters.",
                {"field": "text", "max": self.tuning.max_text_chars},
            )
        if _limit(query) < 1:
            raise InvalidInput("limit must be at least 1.", {"field": "limit"})
        return text

    def _search_vector(self, vector: Vector, language: str) -> Vector:
        """The question's vector as the index is searched: in the language-neutral space."""
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
        language: str,
        channels: tuple[Channel, ...] = CHANNELS,
    ) -> list[list[Scored]]:
        """One fused ranking per filter, from one batch of searches (each candidate's ``lift``
        set for a question in ``language``)."""
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
        fused = [
            tuning.fuse(dense, lexical, boosts)
            for dense, lexical in zip(found[0::2], found[1::2], strict=True)
        ]
        lifts: dict[str | None, float] = {}
        for ranking in fused:
            for cand in ranking:
                self._set_lift(cand, language, lifts)
        return fused

    def _set_lift(
        self, cand: Scored, language: str, known: dict[str | None, float] | None = None
    ) -> None:
        """``cand.lift``: what its language added to its dense similarity (0 when the dense
        channel did not find it, or without centring); ``known``: per record language."""
        if self.centring is None or "dense" not in cand.ranks:
            return
        record = cand.payload.get("language")
        known = {} if known is None else known
        if record not in known:
            known[record] = self.centring.record_lift(language, record)
        cand.lift = known[record]

    def fuse(
        self, dense: Sequence[Hit], lexical: Sequence[Hit], boosts: dict[str, float] | None = None
    ) -> list[Scored]:
        return self.tuning.fuse(dense, lexical, boosts)

    # -- sections ---------------------------------------------------------------------------

    def _hydrate(self, candidates: Iterable[Scored]) -> list[Scored]:
        """Whole payloads for the candidates about to be shown (searches return only the
        search fields). A record deleted since the search keeps a minimal payload."""
        wanted = list(candidates)
        missing = [c.key for c in wanted if "record" not in c.payload]
        if missing:
            found = self.index.get(missing)
            for cand in wanted:
                if "record" not in cand.payload:
                    cand.payload = found.get(cand.key) or minimal_payload(cand.payload)
        return wanted

    def _confidence(self, cand: Scored) -> Confidence:
        if self.calibration is None:
            return "possible"
        return self.calibration.classify(cand.similarity, cand.score)

    def _grade(
        self, result: MatchResult, pools: list[list[Scored]], top: int, language: str
    ) -> None:
        """The result's confidence is that of its best candidate on the first ``top`` ranks of
        any pool behind a section (so "show more" pages are graded like the first page).
        Whether anything fits at all is the calibration's rule on the most similar of them
        (``Calibration.nothing_fits``, on its similarity before its language's lift when the
        calibration was fitted so): when nothing does, or nothing was found, every item is
        weak and each section keeps only its ``weak_items`` best items. A result whose items
        are all weak but which passes the rule is not a "no good match": weak items are less
        likely relevant than most shown, not off the subject."""
        candidates = [cand for pool in pools for cand in pool[:top]]
        best: Confidence = "weak"
        for cand in candidates:
            found = self._confidence(cand)
            if _CONFIDENCE_ORDER[found] > _CONFIDENCE_ORDER[best]:
                best = found
        nothing = not candidates
        if candidates and self.calibration is not None:
            closest = max(candidates, key=lambda c: c.similarity)
            nothing = self.calibration.nothing_fits(
                closest.similarity,
                max(c.score for c in candidates),
                _other_language(closest, language),
                closest.lift,
            )
        if self.calibration is not None and self.calibration.fits is None and best == "weak":
            nothing = True  # a calibration without the rule: nothing better than weak fits
        if nothing:
            best = "weak"
        result.confidence = best
        result.no_good_match = nothing
        if result.no_good_match:
            keep = self.tuning.weak_items
            result.solutions = result.solutions[:keep]
            result.peers = result.peers[:keep]
            result.funders = result.funders[:keep]
            for item in (*result.solutions, *result.peers, *result.funders):
                item.confidence = "weak"


def _candidate(key: str, score: float, dense: Ranking, lexical: Ranking) -> Scored:
    """A fused candidate as ``fuse`` makes it (its payload read later)."""
    ranks: dict[str, int] = {}
    similarity = 0.0
    if key in dense.keys:
        at = dense.keys.index(key)
        ranks["dense"], similarity = at + 1, dense.scores[at]
    if key in lexical.keys:
        ranks["lexical"] = lexical.keys.index(key) + 1
    return Scored(key, {"key": key, "kind": key.split(":", 1)[0]}, score, similarity, ranks)


def _graded(grades: dict[int, Confidence], cand: Scored) -> Confidence:
    return grades[id(cand)]


def _other_language(cand: Scored, language: str) -> bool:
    found = cand.payload.get("language")
    return bool(found) and found != language


def _limit(query: Query) -> int:
    return DEFAULT_LIMIT if query.limit is None else query.limit


def _clean(text: str) -> str:
    return " ".join(text.split())


__all__ = ["CHANNELS", "Channel", "MatchTuning", "Matcher", "PreparedQuery", "Scored", "section_of"]
