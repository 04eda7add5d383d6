"""The message catalogue: every text the assistant says, per language, in ``catalogue/*.json``;
the staff console's texts in ``catalogue/console/*.json`` join the same catalogue.

Texts use ``{name}`` placeholders and Slack-style light markup (``*bold*``, ``_italic_``);
each adapter turns that markup into its platform's own. A key missing in one language falls
back to English, so a half-translated catalogue never shows a raw key to a user.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

LANGUAGES: tuple[str, ...] = ("fi", "en", "sv")
FALLBACK = "en"


class _Missing(dict[str, Any]):
    """Leaves an unknown placeholder visible instead of raising in front of a user."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Catalogue:
    def __init__(self, texts: dict[str, dict[str, Any]], default_language: str = "fi") -> None:
        if FALLBACK not in texts:
            raise ValueError("the catalogue needs English texts (the fallback)")
        self._texts = texts
        self.default_language = self.language(default_language)

    @classmethod
    def load(cls, default_language: str = "fi") -> Catalogue:
        return cls(_load_all(), default_language)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in LANGUAGES if lang in self._texts)

    def keys(self, language: str = FALLBACK) -> set[str]:
        return set(self._texts.get(language, {}))

    def language(self, language: str | None) -> str:
        """A language the catalogue has: the given one, else the fallback."""
        return language if language in self._texts else FALLBACK

    def raw(self, language: str | None, key: str) -> Any:
        lang = self.language(language)
        if key in self._texts[lang]:
            return self._texts[lang][key]
        if key in self._texts[FALLBACK]:
            return self._texts[FALLBACK][key]
        raise KeyError(f"no text {key!r} in the message catalogue")

    def text(self, language: str | None, key: str, **params: Any) -> str:
        template = str(self.raw(language, key))
        return template.format_map(_Missing(params)) if params else template

    def format_date(self, language: str | None, day: date) -> str:
        months: list[str] = list(self.raw(language, "months"))
        return self.text(
            language,
            "date",
            day=day.day,
            month=day.month,
            month_name=months[day.month - 1],
            year=day.year,
        )


@lru_cache(maxsize=1)
def _load_all() -> dict[str, dict[str, Any]]:
    folder = resources.files("simatch.chat") / "catalogue"
    texts: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        entry = folder / f"{lang}.json"
        if entry.is_file():
            texts[lang] = json.loads(entry.read_text(encoding="utf-8"))
            for area in ("console",):  # one file per language and area, one catalogue
                part = folder / area / f"{lang}.json"
                if part.is_file():
                    texts[lang].update(json.loads(part.read_text(encoding="utf-8")))
    return texts
