"""Matching a thread's question and turning the result into a reply: the first page, the
next pages ("show more"), and an honest answer when nothing fits (``MatchService`` records
it as a gap, with the platform it came from)."""

from __future__ import annotations

import logging
from typing import Any

from simatch.chat import intents
from simatch.chat.catalogue import Catalogue
from simatch.chat.render import filter_notes, footer_buttons, section_view
from simatch.chat.replies import Button, Reply
from simatch.chat.state import QueryState
from simatch.domain.query import Query
from simatch.domain.results import SECTIONS, MatchItem, Section
from simatch.errors import InvalidInput, TextTooLong
from simatch.services.match import MatchService

log = logging.getLogger(__name__)


class Answers:
    def __init__(self, matches: MatchService, catalogue: Catalogue, page_size: int = 3) -> None:
        self.matches = matches
        self.catalogue = catalogue
        self.page_size = page_size

    def first(
        self, qs: QueryState, sections: tuple[Section, ...], platform: str, honest: bool
    ) -> Reply:
        """The first page of ``sections``; ``honest``: say so when nothing fits.
        Sets ``qs.offsets``; kind "answer" or "no_match" on success."""
        try:
            result = self.matches.match(
                self._query(qs, sections, 0),
                source=platform,
                record_gap=honest,
                asked_regions=qs.regions,
            )
        except Exception as exc:
            return self.failure(qs.language, exc)
        qs.offsets = dict.fromkeys(SECTIONS, 0)
        lang = qs.language
        notes = filter_notes(qs.regions, lang, self.catalogue)
        if honest and result.no_good_match:
            text = "\n".join(
                self._t(lang, k) for k in ("no_match", "no_match_tips", "no_match_gap")
            )
            buttons = [
                Button(self._t(lang, "button_show_anyway"), "show_anyway", {"q": qs.key}),
                Button(self._t(lang, "button_save_need"), "save_need", {"q": qs.key}),
            ]
            return Reply("no_match", lang, text, notes, buttons=buttons, match_id=result.match_id)
        views = []
        for name in sections:
            items = result.section(name)
            qs.offsets[name] = len(items)
            views.append(section_view(name, lang, items, result.match_id, self.catalogue))
        footer = footer_buttons(qs.key, lang, self.catalogue)
        intro = self._t(lang, "answer_intro")
        return Reply("answer", lang, intro, notes, views, footer, match_id=result.match_id)

    def more(self, qs: QueryState, sections: tuple[Section, ...]) -> Reply:
        """The next page of each section after what the thread has seen (kind "more", or
        "info" when nothing is left); advances ``qs.offsets``."""
        lang = qs.language
        by_offset: dict[int, list[Section]] = {}
        for name in sections:
            by_offset.setdefault(qs.offsets.get(name, 0), []).append(name)
        found: dict[Section, tuple[list[MatchItem], str | None]] = {}
        try:
            for offset, names in by_offset.items():
                query = self._query(qs, tuple(names), offset)
                result = self.matches.match(query, record_gap=False)
                for name in names:
                    found[name] = (result.section(name), result.match_id)
        except Exception as exc:
            return self.failure(lang, exc)
        if not any(items for items, _ in found.values()):
            return Reply("info", lang, self._t(lang, "no_more"))
        views = []
        for name in sections:
            items, match_id = found[name]
            qs.offsets[name] = qs.offsets.get(name, 0) + len(items)
            view = section_view(name, lang, items, match_id, self.catalogue)
            view.empty = self._t(lang, "no_more_section", section=view.heading.lower())
            views.append(view)
        return Reply(
            "more",
            lang,
            self._t(lang, "more_intro"),
            filter_notes(qs.regions, lang, self.catalogue),
            views,
            footer_buttons(qs.key, lang, self.catalogue),
            match_id=found[sections[0]][1],
        )

    def failure(self, lang: str, exc: Exception) -> Reply:
        """The core's errors as polite replies; anything unexpected is logged."""
        if isinstance(exc, TextTooLong):
            limit = exc.details.get("max") if isinstance(exc.details, dict) else None
            return Reply("error", lang, self._t(lang, "error_too_long", max=limit or "?"))
        if isinstance(exc, InvalidInput):
            return Reply("clarify", lang, self._t(lang, "clarify"))
        log.exception("matching failed", exc_info=exc)
        return Reply("error", lang, self._t(lang, "error_unavailable"))

    def _query(self, qs: QueryState, sections: tuple[Section, ...], offset: int) -> Query:
        return Query(
            text=qs.text,
            language=qs.language,
            regions=intents.expand_regions(qs.regions),
            limit=self.page_size,
            offset=offset,
            sections=sections,
        )

    def _t(self, lang: str, key: str, **params: Any) -> str:
        return self.catalogue.text(lang, key, **params)
