"""Language detection for Finnish, English and Swedish, also on short chat-like inputs.

py3langid restricted to fi/en/sv decides longer texts. Short texts (a few words) mix its
probabilities with evidence that survives shortness: words that belong to one language's
function-word list only, and the letter å (Swedish). When nothing is convincing the default
language wins (Finnish for this project: a bare "ok" or a name comes from a Finnish chat).
"""

from __future__ import annotations

import threading
from typing import Any

from simatch.text.stopwords import STOP_WORDS
from simatch.text.tokens import words

LANGUAGES: tuple[str, ...] = ("fi", "en", "sv")
DEFAULT_LANGUAGE = "fi"

# Below this many words a text counts as short and the markers are consulted.
SHORT_TEXT_WORDS = 4
# A marker word adds this much to its language's probability (probabilities sum to 1).
MARKER_BONUS = 0.35
# The winner must reach this score, otherwise the default language is returned.
MIN_SCORE = 0.5

_CHAT_MARKERS: dict[str, frozenset[str]] = {
    "fi": frozenset({"hei", "moi", "moikka", "kiitos", "kiitti", "apua", "terve", "joo"}),
    "en": frozenset({"hi", "hello", "thanks", "thank", "please", "help", "need", "looking"}),
    "sv": frozenset({"hej", "hallå", "tack", "snälla", "hjälp", "behöver", "söker", "letar"}),
}


def _markers() -> dict[str, frozenset[str]]:
    """Words that point to exactly one of the three languages."""
    found: dict[str, frozenset[str]] = {}
    for lang in LANGUAGES:
        own = STOP_WORDS[lang] | _CHAT_MARKERS[lang]
        others: set[str] = set()
        for other in LANGUAGES:
            if other != lang:
                others |= STOP_WORDS[other] | _CHAT_MARKERS[other]
        found[lang] = frozenset(own - others)
    return found


class LanguageDetector:
    """Thread-safe; the py3langid model (about 0.5 s to load) is built on first use."""

    def __init__(self, default: str = DEFAULT_LANGUAGE) -> None:
        if default not in LANGUAGES:
            raise ValueError(f"default language must be one of {LANGUAGES}, not {default!r}")
        self.default = default
        self._identifier: Any = None
        self._markers = _markers()
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._identifier is None:
            with self._lock:
                if self._identifier is None:
                    from py3langid.langid import MODEL_FILE, LanguageIdentifier

                    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                    identifier.set_languages(list(LANGUAGES))
                    self._identifier = identifier
        return self._identifier

    def scores(self, text: str) -> dict[str, float]:
        """Probability-like score per language (not normalised after the short-text bonus)."""
        tokens = words(text)
        if not tokens:
            return {}
        ranked = self._model().rank(text)
        scores = {lang: float(score) for lang, score in ranked if lang in LANGUAGES}
        if len(tokens) < SHORT_TEXT_WORDS:
            for token in tokens:
                for lang in LANGUAGES:
                    if token in self._markers[lang]:
                        scores[lang] = scores.get(lang, 0.0) + MARKER_BONUS
            if "å" in text.lower():
                scores["sv"] = scores.get("sv", 0.0) + MARKER_BONUS
        return scores

    def detect(self, text: str, default: str | None = None) -> str:
        """'fi', 'en' or 'sv'; ``default`` (or the detector's) for empty or inconclusive text."""
        fallback = default or self.default
        scores = self.scores(text)
        if not scores:
            return fallback
        best = max(LANGUAGES, key=lambda lang: scores.get(lang, 0.0))
        return best if scores.get(best, 0.0) >= MIN_SCORE else fallback


_shared: LanguageDetector | None = None
_shared_lock = threading.Lock()


def detect_language(text: str, default: str = DEFAULT_LANGUAGE) -> str:
    """Detect fi/en/sv with a shared detector (its model is loaded on the first call)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = LanguageDetector()
    return _shared.detect(text, default)
