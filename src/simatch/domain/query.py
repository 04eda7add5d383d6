"""A question put to the Matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from simatch.domain.results import SECTIONS, Section

DEFAULT_LIMIT = 5  # items per section when neither the caller nor the settings say
MAX_LIMIT = 200  # items per section no setting may exceed (SIMATCH_MATCH_MAX_LIMIT is lower)


@dataclass(frozen=True)
class Query:
    text: str
    language: str | None = None  # answer language; detected from the text when None
    regions: tuple[str, ...] = ()
    target_groups: tuple[str, ...] = ()
    limit: int | None = None  # items per section; None = the default (MatchService)
    offset: int = 0  # for "show more": skip this many items per section
    sections: tuple[Section, ...] = SECTIONS
    today: date | None = None  # the day that decides which calls are open; None = today
    kinds: tuple[str, ...] = field(default=())  # restrict solutions/peers pools (eval, debug)
