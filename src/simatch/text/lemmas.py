"""Lemmas for Finnish, English and Swedish: simplemma everywhere, Voikko for Finnish when present.

Tokenisation (``simatch.text.tokens``): lowercase letter words, hyphenated words kept whole
with their parts added, numbers and one-letter words dropped, stop words dropped by surface
form or by lemma. Every word is lemmatised once per lemmatizer (an LRU cache on word level),
since the same words repeat across records and queries.

Voikko gives the better Finnish lemmas and splits compounds: "nuorisotyö" -> nuorisotyö,
nuoriso, työ; "rahoitushaun" -> rahoitushaku, rahoitus, haku. Where Voikko sees several
readings, the best one is the lemma and up to two others are kept as alternatives ("tuen" ->
tuki, also tukea): on Tatoeba fi-en that raised lexical cross-lingual recall@1 from 0.61 to
0.64 (fi->en) and 0.60 to 0.64 (en->fi). English and Swedish always go through simplemma.
The same lemmatizer must build the index and analyse the queries (see ``Lemmatizer.name``).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, runtime_checkable

from simatch.text.stopwords import stop_words
from simatch.text.tokens import hyphen_parts, words

log = logging.getLogger(__name__)

SIMPLEMMA_LANGUAGES = frozenset({"fi", "en", "sv"})
WORD_CACHE_SIZE = 200_000

MAX_ALTERNATIVES = 2
# Bumped whenever the choice of Voikko readings changes (lemmas in an index would differ).
VOIKKO_RULES = "r1"


class WordAnalysis(NamedTuple):
    lemma: str
    parts: tuple[str, ...] = ()  # lemmas of a compound's components
    alternatives: tuple[str, ...] = ()  # lemmas of other readings of an ambiguous word


@dataclass(frozen=True, slots=True)
class Token:
    """One content word: surface form, lemma, and (Finnish) compound parts and other readings."""

    surface: str
    lemma: str
    parts: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()

    def all_lemmas(self) -> tuple[str, ...]:
        return (self.lemma, *self.parts, *self.alternatives)


@runtime_checkable
class Lemmatizer(Protocol):
    @property
    def name(self) -> str:
        """Identifies the lemmas it makes: an index must be queried with the same name."""
        ...

    def tokens(self, text: str, language: str) -> list[Token]: ...

    def lemmas(self, text: str, language: str) -> list[str]:
        """Lemmas in order, each followed by its compound parts and alternatives."""
        ...

    def lemmatize_word(self, word: str, language: str) -> WordAnalysis:
        """Lemma, compound parts and alternatives of one lowercased word; no stop words."""
        ...


class BaseLemmatizer(ABC):
    """Tokenisation, stop words and the word cache; subclasses lemmatise single words."""

    def __init__(self, cache_size: int = WORD_CACHE_SIZE) -> None:
        cached: Callable[[str, str], WordAnalysis] = lru_cache(maxsize=cache_size)(
            self._analyse_word
        )
        self._cached_word = cached

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str:
        """``name`` and the versions of the libraries and data behind it: what data derived
        from its lemmas (``simatch.text.translation_table``) must have been made with."""
        return self.name

    @abstractmethod
    def _analyse_word(self, word: str, language: str) -> WordAnalysis:
        """Uncached analysis of a lowercased word without hyphens."""

    def lemmatize_word(self, word: str, language: str) -> WordAnalysis:
        if "-" in word:
            return self._hyphenated(word, language)
        return self._cached_word(word, language)

    def _hyphenated(self, word: str, language: str) -> WordAnalysis:
        """The whole word plus its parts' lemmas.

        Finnish inflects the last part ("eu-rahoituksen" -> eu-rahoitus; parts eu, rahoitus);
        English and Swedish hyphenated words stay as written ("well-being", not "well-be").
        """
        parts = hyphen_parts(word)
        if not parts:
            return WordAnalysis(word)
        if len(parts) == 1:
            return self._cached_word(parts[0], language)
        lemmas = [self._cached_word(part, language).lemma for part in parts]
        whole = "-".join([*parts[:-1], lemmas[-1]]) if language == "fi" else "-".join(parts)
        return WordAnalysis(whole, tuple(lemmas))

    def tokens(self, text: str, language: str) -> list[Token]:
        stops = stop_words(language)
        found: list[Token] = []
        for word in words(text):
            if len(word) < 2 or word in stops:
                continue
            lemma, parts, alternatives = self.lemmatize_word(word, language)
            if len(lemma) < 2 or lemma in stops:
                continue
            kept = _keep(parts, {lemma}, stops)
            others = _keep(alternatives, {lemma, *kept}, stops)
            found.append(Token(word, lemma, kept, others))
        return found

    def lemmas(self, text: str, language: str) -> list[str]:
        out: list[str] = []
        for token in self.tokens(text, language):
            out.extend(token.all_lemmas())
        return out

    def cache_info(self) -> Any:
        return self._cached_word.cache_info()  # type: ignore[attr-defined]


def _keep(lemmas: tuple[str, ...], seen: set[str], stops: frozenset[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for x in lemmas if len(x) >= 2 and x not in seen | stops))


class SimplemmaLemmatizer(BaseLemmatizer):
    """simplemma 2.0 for fi/en/sv. Its Finnish dictionary is large: ``low_memory=True`` (the
    default) loads it in about 2 s and 70 MB instead of 4 s and 400 MB; the word cache hides
    the slower lookups."""

    def __init__(self, low_memory: bool = True, cache_size: int = WORD_CACHE_SIZE) -> None:
        super().__init__(cache_size)
        self.low_memory = low_memory

    @property
    def name(self) -> str:
        return "simplemma-2"

    @property
    def fingerprint(self) -> str:
        return f"{self.name} (simplemma {importlib.metadata.version('simplemma')})"

    def _analyse_word(self, word: str, language: str) -> WordAnalysis:
        if language not in SIMPLEMMA_LANGUAGES:
            return WordAnalysis(word)
        import simplemma

        lemma = simplemma.lemmatize(word, lang=language, low_memory=self.low_memory)
        return WordAnalysis(lemma.lower())


# Voikko word classes that name things; verbs, adverbs and pronouns rank below them.
_NOMINAL_CLASSES = frozenset(
    {
        "nimisana",
        "laatusana",
        "nimisana_laatusana",
        "paikannimi",
        "etunimi",
        "sukunimi",
        "nimi",
        "lyhenne",
    }
)
_FST_PIECE = re.compile(r"\[([^\]]*)\]|([^\[]+)")
_WORDBASE = re.compile(r"\+([^()+]*)(?:\(([^)]*)\))?")


def _surface_before(fst_output: str, stop_tag: str) -> str:
    """The surface letters of a Voikko FSTOUTPUT up to ``stop_tag`` (base forms skipped)."""
    surface: list[str] = []
    in_base = False
    for match in _FST_PIECE.finditer(fst_output):
        tag, text = match.group(1), match.group(2)
        if tag is not None:
            if tag == stop_tag:
                break
            if tag == "X":
                in_base = False
            elif tag.startswith("X"):
                in_base = True
        elif not in_base:
            surface.append(text)
    return "".join(surface)


def _compound_parts(wordbases: str) -> list[str]:
    """Lemmas of the compound's components from Voikko's WORDBASES.

    "+rahoit(rahoittaa)+us(+us)+haku(haku)" -> [rahoitus, haku]: a part whose base starts
    with "+" is a derivational suffix of the component before it, a part without a base
    ("m" in "+kotoutu(kotoutua)+m+a(+a)") an infix, and "+-" a hyphen between components.
    """
    groups: list[list[tuple[str, str | None]]] = []
    for surface, base in _WORDBASE.findall(wordbases):
        base_or_none = base if base else None
        if surface == "-" and base_or_none is None:
            groups.append([])
            continue
        derivational = base_or_none is None or base_or_none.startswith("+")
        if derivational and groups and groups[-1]:
            groups[-1].append((surface, base_or_none))
        else:
            groups.append([(surface, base_or_none)])
    lemmas: list[str] = []
    for group in groups:
        if not group:
            continue
        if len(group) == 1:
            surface, base = group[0]
            lemma = base if base is not None else surface
        else:
            stem = "".join(surface for surface, _ in group[:-1])
            last_surface, last_base = group[-1]
            lemma = stem + (last_base.lstrip("+") if last_base else last_surface)
        lemmas.append(lemma.replace("=", "").lower())
    return lemmas


def _is_doubtful(analysis: dict[str, str]) -> bool:
    """Readings that are rarely meant: comparatives ("vanhemmat" is parents, not older),
    agent participles ("tekemässä" is doing, not "tekemä"), first and family names."""
    return (
        analysis.get("COMPARISON") in ("comparative", "superlative")
        or analysis.get("PARTICIPLE") == "agent"
        or analysis.get("CLASS") in ("etunimi", "sukunimi")
    )


def _analysis_rank(analysis: dict[str, str], word: str, index: int) -> tuple[int, ...]:
    """Prefer: not doubtful, base form equal to the word, a noun-like reading, fewer compound
    parts, then Voikko's own order."""
    base = analysis.get("BASEFORM", "").lower()
    nominal = (
        analysis.get("CLASS") in _NOMINAL_CLASSES or analysis.get("MOOD") == "MINEN-infinitive"
    )
    n_parts = len(_compound_parts(analysis.get("WORDBASES", "")))
    doubtful = _is_doubtful(analysis)
    return (int(doubtful), int(base != word), int(not nominal), n_parts, index)


def _minen_noun(analysis: dict[str, str]) -> tuple[str, list[str]] | None:
    """A -minen noun ("syrjäytymisen") as the noun (syrjäytyminen), not the verb Voikko gives
    as its base form (syrjäytyä): dictionaries and records use the noun."""
    fst = analysis.get("FSTOUTPUT", "")
    if analysis.get("MOOD") != "MINEN-infinitive" or "[Tn4]" not in fst:
        return None
    stem = _surface_before(fst, "Tn4").lower()
    if not stem:
        return None
    parts = _compound_parts(analysis.get("WORDBASES", ""))
    if len(parts) > 1:
        parts[-1] = _surface_before(fst.rsplit("[Bc]", 1)[-1], "Tn4").lower() + "minen"
    return stem + "minen", parts


def voikko_word_analysis(analyses: list[dict[str, str]], word: str) -> WordAnalysis | None:
    """Lemma, compound parts and alternatives from Voikko's analyses of ``word`` (None when
    Voikko has none). Alternatives are the base forms of up to two other, not doubtful,
    readings."""
    if not analyses:
        return None
    ranked = [
        a for _, a in sorted(enumerate(analyses), key=lambda p: _analysis_rank(p[1], word, p[0]))
    ]
    best = ranked[0]
    minen = _minen_noun(best)
    if minen is not None:
        lemma, parts = minen
    else:
        lemma, parts = (
            best.get("BASEFORM", word).lower(),
            _compound_parts(best.get("WORDBASES", "")),
        )
    alternatives: list[str] = []
    for other in ranked[1:]:
        if _is_doubtful(other) or other.get("MOOD") == "MINEN-infinitive":
            continue
        base = other.get("BASEFORM", "").lower()
        if base and base != lemma and base not in alternatives:
            alternatives.append(base)
    return WordAnalysis(
        lemma, tuple(parts) if len(parts) > 1 else (), tuple(alternatives[:MAX_ALTERNATIVES])
    )


class VoikkoLemmatizer(BaseLemmatizer):
    """Voikko (libvoikko + voikko-fi) for Finnish; simplemma for English and Swedish.

    Words Voikko does not know (about 3 % of running text: names, English words, chat forms)
    stay as written by default. ``unknown_fi="simplemma"`` sends them to simplemma's Finnish
    dictionary instead, which costs 2 s and 70 MB on the first such word and fixed little in
    a sample (colloquial pronouns, already stop words here).
    A Voikko handle is not safe for concurrent use: calls are serialised by a lock (the word
    cache makes that cheap).
    """

    def __init__(
        self,
        dictionary_path: str | None = None,
        unknown_fi: Literal["simplemma", "surface"] = "surface",
        cache_size: int = WORD_CACHE_SIZE,
    ) -> None:
        super().__init__(cache_size)
        import libvoikko

        self._voikko: Any = libvoikko.Voikko("fi", path=dictionary_path)
        self._lock = threading.Lock()
        self._fallback = SimplemmaLemmatizer(cache_size=cache_size)
        self.unknown_fi = unknown_fi

    @property
    def name(self) -> str:
        suffix = "+simplemma-fi" if self.unknown_fi == "simplemma" else ""
        return f"voikko-{VOIKKO_RULES}{suffix}/{self._fallback.name}"

    @property
    def fingerprint(self) -> str:
        import libvoikko

        dictionaries = ", ".join(
            f"{d.language}-{d.variant} {d.description}" for d in libvoikko.Voikko.listDicts()
        )
        version = libvoikko.Voikko.getVersion()
        data = _voikko_data_versions()
        return (
            f"{self.name} (libvoikko {version}; {dictionaries}; {data}; "
            f"{self._fallback.fingerprint})"
        )

    def analyse(self, word: str) -> list[dict[str, str]]:
        """Voikko's raw analyses of one word."""
        with self._lock:
            return list(self._voikko.analyze(word))

    def _analyse_word(self, word: str, language: str) -> WordAnalysis:
        if language != "fi":
            return self._fallback.lemmatize_word(word, language)
        found = voikko_word_analysis(self.analyse(word), word)
        if found is not None:
            return found
        if self.unknown_fi == "simplemma":
            return self._fallback.lemmatize_word(word, language)
        return WordAnalysis(word)

    def close(self) -> None:
        with self._lock:
            self._voikko.terminate()


# Where libvoikko looks for dictionaries (its documented search path, most specific first).
_VOIKKO_DIRS = ("~/.voikko", "/etc/voikko", "/usr/local/lib/voikko", "/usr/lib/voikko")


def _voikko_data_versions() -> str:
    """The build stamps of the Voikko dictionaries installed (their index.txt: version and
    build date), which the description alone does not tell apart."""
    found: list[str] = []
    dirs = [os.environ.get("VOIKKO_DICTIONARY_PATH", ""), *_VOIKKO_DIRS]
    for directory in filter(None, dirs):
        for index in sorted(Path(directory).expanduser().glob("*/*/index.txt")):
            stamp = [
                line
                for line in index.read_text(encoding="utf-8", errors="replace").splitlines()
                if line.startswith(("Language:", "SM-Version:", "SM-Patchinfo:", "Build-Date:"))
            ]
            found.append(" ".join(stamp))
    return " | ".join(found) or "no dictionary files found"


def voikko_available() -> bool:
    """True when libvoikko imports and its Finnish dictionary loads."""
    try:
        import libvoikko

        libvoikko.Voikko("fi").terminate()
    except Exception:  # OSError (no libvoikko.so), VoikkoException (no dictionary), ImportError
        return False
    return True


def make_lemmatizer(prefer: Literal["auto", "voikko", "simplemma"] = "auto") -> BaseLemmatizer:
    """Voikko when importable and its dictionary loads ("auto"), else simplemma.

    ``prefer="voikko"`` raises when Voikko cannot be used; ``"simplemma"`` never tries it.
    """
    if prefer == "simplemma":
        return SimplemmaLemmatizer()
    try:
        return VoikkoLemmatizer()
    except Exception as exc:
        if prefer == "voikko":
            raise
        log.warning("Voikko is not usable (%s); Finnish lemmas come from simplemma", exc)
        return SimplemmaLemmatizer()
