"""Matching, the one way every transport matches: the API, the CLI and the chat assistant.

A match gets a ``match_id`` and is logged (so feedback can name it); the default and the
largest limit are applied here; a first page without a good match is recorded as a gap for
staff, as coming from ``source`` (by the match log, in the same write); and at most
``concurrency`` matches run at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

from simatch.domain.matcher import Matcher
from simatch.domain.query import DEFAULT_LIMIT, MAX_LIMIT, Query
from simatch.domain.results import MatchResult
from simatch.domain.stores import GapNote, MatchLog
from simatch.errors import InvalidInput
from simatch.services.background import RequestsFirst

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MatchLimits:
    """Items per section: ``default`` when a caller gives none, at most ``maximum``."""

    default: int = DEFAULT_LIMIT
    maximum: int = MAX_LIMIT


class MatchService:
    def __init__(
        self,
        matcher: Matcher,
        log: MatchLog,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        limits: MatchLimits | None = None,
        concurrency: int | None = None,
        requests: RequestsFirst | None = None,
        pin: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        self.matcher = matcher
        self.log = log
        self._new_id = new_id
        self.limits = limits or MatchLimits()
        # A match is CPU-bound and mostly in native code that runs one thread per call: more
        # matches at once than cores only add GIL hand-offs and cache misses, so the rest
        # wait their turn (measured in benchmarks/README.md, HTTP API load).
        self._slots = threading.BoundedSemaphore(concurrency or os.cpu_count() or 1)
        # Background work (imports) pauses while matches are answered.
        self._requests = requests or RequestsFirst()
        # Around each match: the index build it reads stays the same throughout, and the
        # server does not move to a new build until it ends (services.index_builds).
        self._pin = pin or contextlib.nullcontext

    def match(
        self,
        query: Query,
        *,
        source: str = "api",
        record_gap: bool = True,
        asked_regions: Sequence[str] | None = None,
    ) -> MatchResult:
        """The result with its ``match_id``. ``source`` names where the question came from
        (api, cli, slack, teams); ``record_gap=False`` keeps a first page without a good
        match out of the gap log (the chat's "show anyway"); ``asked_regions``: the regions
        as the asker named them, when ``query.regions`` is an expansion of them."""
        query = self._limited(query)
        with self._requests.serving(), self._pin():
            return self._match(query, source, record_gap, asked_regions)

    def _match(
        self,
        query: Query,
        source: str,
        record_gap: bool,
        asked_regions: Sequence[str] | None,
    ) -> MatchResult:
        with self._slots:
            result, vector = self.matcher.match_with_vector(query)
        result.match_id = self._new_id()
        items = [(i.kind, i.id) for i in (*result.solutions, *result.peers, *result.funders)]
        gap = None
        if record_gap and result.no_good_match and query.offset == 0:
            regions = tuple(query.regions if asked_regions is None else asked_regions)
            text = " ".join(query.text.split())
            gap = GapNote(text, result.query.language, source, regions)
        # One write: the match log records the gap with the match.
        self.log.log_match(result.match_id, vector, result.query.detected, items, gap=gap)
        return result

    def warm_up(self) -> None:
        """Load the model and run one match (not logged), so the first request is fast."""
        self.matcher.embedder.load()
        self.matcher.match(Query(text="warm up", limit=1))

    def _limited(self, query: Query) -> Query:
        if query.limit is None:
            return replace(query, limit=self.limits.default)
        if query.limit > self.limits.maximum:
            raise InvalidInput(
                f"limit: at most {self.limits.maximum}",
                {"field": "limit", "max": self.limits.maximum},
            )
        return query
