"""Tokenisation shared by the whole text toolbox: lowercase words, hyphenated compounds kept.

A word is a run of letters; letters joined by hyphens stay one word ("eu-rahoitus",
"evidence-based") and the caller decides what to do with the parts. Digits end a word and
are dropped ("covid-19" -> "covid"), and a Finnish colon ending on an abbreviation is cut
("EU:n" -> "eu", "THL:ssä" -> "thl").
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"([^\W\d_]+(?:-[^\W\d_]+)*)(?::[^\W\d_]+)?")


def normalise(text: str) -> str:
    """NFC and lowercase: the form every lookup in this package uses."""
    return unicodedata.normalize("NFC", text).lower()


def words(text: str) -> list[str]:
    """Lowercased words in order; hyphenated words are kept whole."""
    return [m.group(1) for m in _WORD.finditer(normalise(text))]


def hyphen_parts(word: str) -> list[str]:
    """The parts of a hyphenated word, empty parts dropped."""
    return [part for part in word.split("-") if part]
