"""The console's language: chosen by the user (a cookie), else the browser's preference among
fi, en and sv, else Finnish. Texts come from the one message catalogue."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from simatch.chat.catalogue import Catalogue

LANG_COOKIE = "simatch_lang"
DEFAULT_LANGUAGE = "fi"
LOCAL_TIME = ZoneInfo("Europe/Helsinki")  # the staff's clock


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return Catalogue.load(DEFAULT_LANGUAGE)


def request_language(request: Request) -> str:
    languages = catalogue().languages
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in languages:
            return tag
    return DEFAULT_LANGUAGE


class Texts:
    """``t(key, name=value)`` in templates and routes."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalogue = catalogue()

    def __call__(self, key: str, **params: Any) -> str:
        return self._catalogue.text(self.language, key, **params)

    def field(self, name: str) -> str:
        """A field's label; a field we have no text for (a source's own) by its name."""
        key = f"console_field_{name}"
        return self(key) if key in self._catalogue.keys() else name  # noqa: SIM118

    def when(self, moment: datetime | None) -> str:
        """A time as staff read it: local, to the minute."""
        if moment is None:
            return ""
        return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")
