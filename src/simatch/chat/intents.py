"""What a message asks for: help, a follow-up that refines the last question, or a question.

Follow-ups are short: a region ("vain Pirkanmaa", "only Uusimaa", "entä Lapissa?"), a section
("more funders", "lisää rahoittajia"), a language ("in English", "suomeksi"), "show more",
"all regions". A message with more than one word left over once those and filler words are
taken out is a new question. Matching is on word starts, so Finnish case endings
("Pirkanmaalla", "rahoittajia") are understood without a lemmatiser.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from simatch.domain.results import Section
from simatch.text.stopwords import STOP_WORDS
from simatch.text.tokens import normalise, words

IntentKind = Literal["empty", "help", "cancel", "followup", "question"]

# canonical region name (as the data spells it) -> word starts in fi, en, sv ("=": whole word)
REGIONS: dict[str, tuple[str, ...]] = {
    "Etelä-Pohjanmaa": ("etelä-pohjanma", "south ostrobothnia", "södra österbotten"),
    "Pohjois-Pohjanmaa": ("pohjois-pohjanma", "north ostrobothnia", "norra österbotten"),
    "Keski-Pohjanmaa": ("keski-pohjanma", "central ostrobothnia", "mellersta österbotten"),
    "Pohjanmaa": ("pohjanma", "ostrobothnia", "österbotten"),
    "Länsi-Uusimaa": ("länsi-uu", "västra nyland", "west uusimaa", "western uusimaa"),
    "Itä-Uusimaa": ("itä-uu", "östra nyland", "east uusimaa", "eastern uusimaa"),
    "Keski-Uusimaa": ("keski-uu", "mellersta nyland", "central uusimaa"),
    "Vantaa-Kerava": ("vantaa-kerava", "vanda-kervo", "vantaa", "kerava", "vanda", "kervo"),
    "Helsinki": ("helsinki", "helsingi", "helsingfors"),
    "Uusimaa": ("uusimaa", "uudellamaa", "uudeltamaa", "uudellemaa", "uudenmaa", "nyland"),
    "Varsinais-Suomi": ("varsinais-suom", "southwest finland", "egentliga finland"),
    "Satakunta": ("satakun",),
    "Kanta-Häme": ("kanta-häme", "tavastia proper", "egentliga tavastland"),
    "Pirkanmaa": ("pirkanma", "birkaland"),
    "Päijät-Häme": ("päijät-häme", "päijänne tavastia", "päijänne-tavastland"),
    "Kymenlaakso": ("kymenlaakso", "kymmenedalen"),
    "Etelä-Karjala": ("etelä-karjal", "south karelia", "södra karelen"),
    "Etelä-Savo": ("etelä-savo", "south savo", "södra savolax"),
    "Pohjois-Savo": ("pohjois-savo", "north savo", "norra savolax"),
    "Pohjois-Karjala": ("pohjois-karjal", "north karelia", "norra karelen"),
    "Keski-Suomi": ("keski-suom", "central finland", "mellersta finland"),
    "Kainuu": ("kainuu", "kajanaland"),
    "Lappi": ("lappi", "lapin=", "lapissa=", "lapista=", "lapille=", "lapland", "lappland"),
    "Ahvenanmaa": ("ahvenanma", "åland", "aland"),
}

# A region the data splits into wellbeing services counties (hyvinvointialueet).
REGION_PARTS: dict[str, tuple[str, ...]] = {
    "Uusimaa": ("Uusimaa", "Helsinki", "Vantaa-Kerava", "Länsi-Uusimaa", "Itä-Uusimaa",
                "Keski-Uusimaa"),
}  # fmt: skip

_LANG_PATTERNS: dict[str, tuple[str, ...]] = {
    "en": ("in english", "englanniksi", "på engelska", "english please"),
    "fi": ("in finnish", "suomeksi", "på finska"),
    "sv": ("in swedish", "ruotsiksi", "på svenska"),
}
_ALL_REGIONS: dict[str, str] = {
    "all regions": "en", "any region": "en", "everywhere": "en", "whole finland": "en",
    "all of finland": "en", "kaikki alueet": "fi", "kaikilta alueilta": "fi", "kaikkialta": "fi",
    "koko suomi": "fi", "koko suomesta": "fi", "alla regioner": "sv", "hela finland": "sv",
    "överallt": "sv",
}  # fmt: skip
_SECTION_STARTS: dict[Section, tuple[str, ...]] = {
    "solutions": ("ratkaisu", "solution", "lösning", "innovaatio", "innovation"),
    "peers": ("kumppan", "peer", "vertai", "kolleg", "toimij", "partner", "organisaati"),
    "funders": ("rahoitta", "rahoitu", "funder", "funding", "finansiär", "finansier", "utlysning"),
}
_MORE = {"more": "en", "lisää": "fi", "enemmän": "fi", "fler": "sv", "mer": "sv"}
_HELP = {
    "help": "en", "apua": "fi", "ohje": "fi", "ohjeet": "fi", "hjälp": "sv", "?": "en",
    "what can you do": "en", "mitä osaat": "fi", "mitä osaat tehdä": "fi", "vad kan du": "sv",
}  # fmt: skip
_CANCEL = {"cancel", "peruuta", "peru", "avbryt", "stop", "lopeta", "ei", "no", "nej", "ei kiitos"}
# Words a follow-up may carry besides its signal, with the language they point to.
_FILLER_WORDS = {
    "fi": "vain ainoastaan pelkästään entä sitten näytä anna alueella alueelta alue alueen "
    "tuloksia tulokset tulosta myös kiitos hae listaa haku hakua kiitti kyllä okei",
    "en": "only just what about how then show give me us results result please also thanks "
    "search list region area the in from for and",
    "sv": "bara endast enbart visa resultat tack också sök och i från",
}
_FILLER: dict[str, str] = {
    word: lang for lang, text in _FILLER_WORDS.items() for word in text.split()
}


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    language: str | None = None  # the language the words point to, if any
    set_language: str | None = None  # "in English": answer in this language from now on
    regions: tuple[str, ...] | None = None  # None: unchanged; (): all regions
    section: Section | None = None
    more: bool = False


def _phrase(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])")


def _start(stem: str) -> re.Pattern[str]:
    if stem.endswith("="):
        return _phrase(stem[:-1])
    return re.compile(r"(?<![\w-])" + re.escape(stem) + r"[\w-]*")


_REGION_PATTERNS = [(name, [_start(s) for s in stems]) for name, stems in REGIONS.items()]
_LANG_RE = {lang: [_phrase(p) for p in phrases] for lang, phrases in _LANG_PATTERNS.items()}
_ALL_RE = [(_phrase(p), lang) for p, lang in _ALL_REGIONS.items()]


def find_regions(text: str, extra: Iterable[str] = ()) -> tuple[list[str], str]:
    """Regions named in ``text`` (canonical names) and the text with them blanked out.

    ``extra``: more region names the data uses (municipalities ...), matched on their first
    letters so that inflected forms count ("Tampere" matches "Tampereella").
    """
    low = normalise(text)
    found: list[str] = []
    patterns = list(_REGION_PATTERNS)
    for name in extra:
        stem = normalise(name).strip()
        if len(stem) >= 4 and name not in REGIONS:
            keep = max(4, len(stem) - (2 if len(stem) >= 7 else 1))
            patterns.append((name, [_start(stem[:keep])]))
    for name, regexes in patterns:
        for regex in regexes:
            if regex.search(low):
                if name not in found:
                    found.append(name)
                low = regex.sub(" ", low)
    return found, low


def expand_regions(regions: Iterable[str]) -> tuple[str, ...]:
    """The region names to filter on: a region and the counties the data splits it into."""
    out: list[str] = []
    for region in regions:
        out.extend(REGION_PARTS.get(region, (region,)))
    return tuple(dict.fromkeys(out))


def content_words(text: str, language: str) -> list[str]:
    """Words that carry meaning: stop words of the language and very short words dropped."""
    stop = STOP_WORDS.get(language, frozenset())
    return [w for w in words(text) if len(w) > 2 and w not in stop]


def is_vague(text: str, language: str, minimum: int = 3) -> bool:
    """Too few content words to match on ("nuoret", "help with youth")."""
    return len(content_words(text, language)) < minimum


def parse(text: str, extra_regions: Iterable[str] = (), pending_consent: bool = False) -> Intent:
    low = " ".join(normalise(text).split())
    bare = low.strip(" .!?,;:")
    if not bare and "?" not in low:
        return Intent("empty")
    if bare in _HELP or low in _HELP:
        return Intent("help", language=_HELP.get(bare) or _HELP.get(low))
    if pending_consent and bare in _CANCEL:
        return Intent("cancel")

    hints: Counter[str] = Counter()
    set_language = None
    for lang, regexes in _LANG_RE.items():
        for regex in regexes:
            if regex.search(low):
                set_language = lang
                low = regex.sub(" ", low)
    regions: tuple[str, ...] | None = None
    for regex, lang in _ALL_RE:
        if regex.search(low):
            regions = ()
            hints[lang] += 1
            low = regex.sub(" ", low)
    named, low = find_regions(low, extra_regions)
    if named:
        regions = tuple(named)

    section: Section | None = None
    more = False
    leftover: list[str] = []
    for word in words(low):
        matched = next(
            (s for s, starts in _SECTION_STARTS.items() if word.startswith(starts)), None
        )
        if matched:
            section = matched
        elif word in _MORE:
            more = True
            hints[_MORE[word]] += 1
        elif word in _FILLER:
            hints[_FILLER[word]] += 1
        else:
            leftover.append(word)

    signal = set_language or regions is not None or section or more
    if signal and len(leftover) <= 1:
        language = hints.most_common(1)[0][0] if hints else None
        return Intent(
            "followup",
            language=language,
            set_language=set_language,
            regions=regions,
            section=section,
            more=more or section is not None,
        )
    return Intent("question")
