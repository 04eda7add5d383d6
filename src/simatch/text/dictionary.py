"""A bilingual word list read from FreeDict's dictd files (Debian dict-freedict-fin-eng/-eng-fin).

dictd format: ``NAME.index`` has one line per headword, ``headword<TAB>offset<TAB>length``
with offset and length in dictd's base64 digits; ``NAME.dict.dz`` is gzip (dictzip) text.
An entry as WikDict writes it::

    rahoitus /rˈahoitus/ <n>          <- headword, pronunciation, part of speech
    1. financing, funding             <- sense 1: translations, comma-separated
    tuotantoon tai kulutukseen ...    <- a definition in the source language (ignored)
    2. finance

An entry with one sense has its translations on the second line without a number. Both files
are read into memory on first use (about 0.1 s and 15-25 MB per direction); entries are
parsed on demand. With a translation table (``simatch.text.translation_table``: every
headword's translations computed ahead, by this same code) a first lookup reads the table
instead of lemmatising glosses.

Translations are ranked sense by sense (the first translation of every sense, then the second
of every sense ...), split into content words, lemmatised in the target language, capped per
headword (six), and the tail of an ambiguous word's list is weighted down (see
``translation_weight`` for the measurements behind the rule).
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path

from simatch.text.lemmas import Lemmatizer

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {ch: i for i, ch in enumerate(_B64)}
_SENSE = re.compile(r"^(\d+)\.\s+(.*)$")
_TRAILING_NUMBER = re.compile(r"\s+\d+\.\s*$")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SPLIT_GLOSSES = re.compile(r"[,;]")

MAX_TRANSLATIONS = 6
FULL_WEIGHT_RANKS = 3
TAIL_WEIGHT = 0.5
MAX_GLOSS_WORDS = 3

# Lemmatises a gloss in the target language: content-word lemmas, stop words dropped.
GlossLemmatizer = Callable[[str], list[str]]


def _b64_number(digits: str) -> int:
    value = 0
    for ch in digits:
        value = value * 64 + _B64_VALUE[ch]
    return value


def translation_weight(rank: int, count: int) -> float:
    """Weight of the translation at ``rank`` (0-based) among ``count`` kept translations.

    The first three translations (the head of the sense-by-sense ranking) keep 1.0, the
    rest 0.5; the cap of six is the main guard against ambiguity. Measured on Tatoeba fi-en
    (1000 pairs, lexical channel only, recall@1 fi->en / en->fi): with English records
    only, 1/sqrt(n) 0.61/0.59, uniform 1.0 0.60/0.59, 1/n 0.60/0.54, this rule about the
    same; in an index holding both languages (the twin competing with same-language
    sentences), 1/sqrt(n) 0.47/0.38, 1/sqrt(n) with a 0.7 floor 0.49/0.48, uniform 1.0
    0.54/0.56, this rule 0.54/0.55. Damping translations lets same-language records win on
    shared words, so translations keep weights close to the query's own lemmas.
    """
    del count
    return 1.0 if rank < FULL_WEIGHT_RANKS else TAIL_WEIGHT


def parse_entry(text: str) -> list[list[str]]:
    """Senses of one dictd entry, each a list of raw translation phrases (notes removed)."""
    lines = text.splitlines()[1:]  # the first line is headword, pronunciation, part of speech
    senses: list[list[str]] = []
    numbered = any(_SENSE.match(line) for line in lines)
    if numbered:
        candidates = [m.group(2) for line in lines if (m := _SENSE.match(line))]
    else:
        candidates = [line for line in lines[:1] if line.strip()]
    for line in candidates:
        line = _TRAILING_NUMBER.sub("", line)
        line = _PARENTHESES.sub(" ", line)
        phrases = [" ".join(p.split()) for p in _SPLIT_GLOSSES.split(line)]
        senses.append([p for p in phrases if p])
    return senses


def _round_robin(senses: list[list[str]]) -> Iterator[str]:
    depth = max((len(s) for s in senses), default=0)
    for i in range(depth):
        for sense in senses:
            if i < len(sense):
                yield sense[i]


class BilingualDictionary:
    """One direction of a FreeDict dictionary (e.g. fi -> en). Thread-safe for reads."""

    def __init__(
        self,
        index_path: Path,
        dict_path: Path,
        source: str,
        target: str,
        lemmatize: GlossLemmatizer | None = None,
        max_translations: int = MAX_TRANSLATIONS,
        weight: Callable[[int, int], float] = translation_weight,
    ) -> None:
        self.index_path = Path(index_path)
        self.dict_path = Path(dict_path)
        self.source = source
        self.target = target
        self.max_translations = max_translations
        self._lemmatize: GlossLemmatizer = lemmatize or (lambda gloss: gloss.lower().split())
        self._weight = weight
        self._index: dict[str, str] | None = None
        self._data = b""
        self._lock = threading.Lock()
        self._cached: Callable[[str], tuple[tuple[str, float], ...]] = lru_cache(maxsize=50_000)(
            self._weighted_uncached
        )
        # Reads the translation table (simatch.text.translation_table.use_table): headword ->
        # its translations, tab-separated; None, or a loader that finds no current table:
        # each headword's translations are computed from its entry on its first lookup.
        self.table_loader: Callable[[], Mapping[str, str] | None] | None = None
        self._table: Mapping[str, str] | None = None
        self._table_read = False
        self._table_lock = threading.Lock()  # not _lock: checking a table reads entries

    @classmethod
    def load(
        cls,
        index_path: Path | str,
        dict_path: Path | str,
        source: str = "fi",
        target: str = "en",
        lemmatize: GlossLemmatizer | None = None,
        max_translations: int = MAX_TRANSLATIONS,
        lazy: bool = True,
    ) -> BilingualDictionary:
        """Check the files and return the dictionary; with ``lazy=False`` read them now."""
        for path in (Path(index_path), Path(dict_path)):
            if not path.is_file():
                raise FileNotFoundError(path)
        found = cls(Path(index_path), Path(dict_path), source, target, lemmatize, max_translations)
        if not lazy:
            found.preload()
        return found

    @classmethod
    def freedict(
        cls,
        dict_dir: Path | str,
        source: str,
        target: str,
        lemmatize: GlossLemmatizer | None = None,
    ) -> BilingualDictionary:
        """The Debian FreeDict pair in ``dict_dir``, e.g. freedict-fin-eng.{index,dict.dz}."""
        codes = {"fi": "fin", "en": "eng", "sv": "swe"}
        stem = Path(dict_dir) / f"freedict-{codes[source]}-{codes[target]}"
        return cls.load(
            stem.with_name(stem.name + ".index"),
            stem.with_name(stem.name + ".dict.dz"),
            source,
            target,
            lemmatize,
        )

    def preload(self) -> None:
        """Read the index, the text and the translation table now (otherwise done on the
        first lookup)."""
        self._ensure_loaded()
        self._translation_table()

    @property
    def uses_table(self) -> bool:
        """True when lookups read a translation table (after reading it if not done yet)."""
        return self._translation_table() is not None

    def reload_table(self) -> bool:
        """Read the translation table again (one built after the first lookup, e.g. in the
        background); True when lookups read one from now on. The table is read before it
        replaces the old state, so a lookup meanwhile never waits for the reading; the
        translations are the same either way."""
        loader = self.table_loader
        table = loader() if loader is not None else None
        with self._table_lock:
            self._table = table
            self._table_read = True
        return table is not None

    def _translation_table(self) -> Mapping[str, str] | None:
        if not self._table_read:
            with self._table_lock:
                if not self._table_read:
                    loader = self.table_loader
                    self._table = loader() if loader is not None else None
                    self._table_read = True
        return self._table

    def _ensure_loaded(self) -> dict[str, str]:
        index = self._index
        if index is not None:
            return index
        with self._lock:
            if self._index is None:
                # headword -> "offset<TAB>length" lines, decoded on lookup: loading stays
                # at a tenth of a second and a few MB instead of a dict of tuples
                loaded: dict[str, str] = {}
                text = self.index_path.read_text(encoding="utf-8")
                for line in text.splitlines():
                    headword, _, span = line.partition("\t")
                    if not span or headword.startswith("00database"):
                        continue
                    key = headword.lower()
                    previous = loaded.get(key)
                    loaded[key] = span if previous is None else previous + "\n" + span
                with gzip.open(self.dict_path, "rb") as compressed:
                    self._data = compressed.read()
                self._index = loaded
            return self._index

    def __contains__(self, headword: object) -> bool:
        return isinstance(headword, str) and headword.lower() in self._ensure_loaded()

    def __len__(self) -> int:
        return len(self._ensure_loaded())

    def entries(self, headword: str) -> list[str]:
        """Raw entry texts for ``headword`` (one per part of speech)."""
        spans = self._ensure_loaded().get(headword.lower())
        if spans is None:
            return []
        found: list[str] = []
        for span in spans.split("\n"):
            offset, _, length = span.partition("\t")
            start, size = _b64_number(offset), _b64_number(length.split("\t")[0])
            found.append(self._data[start : start + size].decode("utf-8", errors="replace"))
        return found

    def senses(self, headword: str) -> list[list[str]]:
        """Translation phrases per sense, over all entries of the headword."""
        return [sense for entry in self.entries(headword) for sense in parse_entry(entry)]

    def weighted_translations(self, lemma: str) -> list[tuple[str, float]]:
        """[(target lemma, weight)], best first, at most ``max_translations``."""
        return list(self._cached(lemma.lower()))

    def translations(self, lemma: str) -> list[str]:
        """Target-language lemmas for a source lemma, best first."""
        return [word for word, _ in self._cached(lemma.lower())]

    def headwords(self) -> list[str]:
        """Every headword, lowercased (the keys lookups use), sorted."""
        return sorted(self._ensure_loaded())

    def _weighted_uncached(self, lemma: str) -> tuple[tuple[str, float], ...]:
        table = self._translation_table()
        if table is None:
            found = self.translation_words(lemma)
        else:
            joined = table.get(lemma)
            found = joined.split("\t") if joined else []
        return tuple((word, self._weight(rank, len(found))) for rank, word in enumerate(found))

    def translation_words(self, lemma: str) -> list[str]:
        """The translations of a lowercased lemma, best first, computed from its entries
        (what a translation table stores for it)."""
        senses = self.senses(lemma)
        if not senses:
            return []
        found: list[str] = []
        for phrase in _round_robin(senses):
            if len(phrase.split()) > MAX_GLOSS_WORDS + 1:
                continue  # a note or a definition that slipped into the translations
            for word in self._lemmatize(phrase)[:MAX_GLOSS_WORDS]:
                if word != lemma and word not in found:
                    found.append(word)
            if len(found) >= self.max_translations:
                break
        return found[: self.max_translations]


def gloss_lemmatizer(lemmatizer: Lemmatizer, language: str) -> GlossLemmatizer:
    """A gloss's content-word lemmas in ``language``, as the analyzer lemmatises text."""

    def lemmatize_gloss(gloss: str) -> list[str]:
        return [token.lemma for token in lemmatizer.tokens(gloss, language)]

    return lemmatize_gloss
