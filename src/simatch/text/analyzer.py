"""The lexical side of matching: the TextAnalyzer of ``simatch.domain.ports``.

Documents are lemmatised in their own language and encoded as BM25 term frequencies.
A query keeps its own lemmas (weight 1.0; its compound parts and other readings of ambiguous
words 0.3) and adds translations into the other languages, so that a Finnish question can
meet an English record on the lexical channel too:

- concepts (``concepts.tsv``): every label of a matched concept in the other languages at
  weight 1.0, and the concept's other labels in the query's own language at 0.5 (each word
  of an n-word label gets 1/n of that);
- the FreeDict dictionaries (fi->en, en->fi): ranked, six at most, the first three at 1.0
  and the rest at 0.5 (``dictionary.translation_weight``); halved for words a concept
  already covered; the translations of compound parts and of other readings of an
  ambiguous word at 0.7 when the word itself had translations. English two- and three-word
  phrases are looked up too ("mental health" -> mielenterveys). Swedish has no dictionary
  here, only the concepts.

Everything heavy (Voikko, simplemma's dictionaries, the py3langid model, FreeDict files, the
concept lemmas) is built on first use; reads are thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from simatch.domain.ports import QueryTerms, SparseVector
from simatch.text.concepts import ConceptVocabulary
from simatch.text.dictionary import BilingualDictionary, gloss_lemmatizer
from simatch.text.language import LANGUAGES, LanguageDetector
from simatch.text.lemmas import Lemmatizer, Token, make_lemmatizer
from simatch.text.sparse import SparseEncoder
from simatch.text.translation_table import use_table

log = logging.getLogger(__name__)

DEFAULT_DICT_DIR = Path("/usr/share/dictd")
DICTIONARY_PAIRS: tuple[tuple[str, str], ...] = (("fi", "en"), ("en", "fi"))

# The query's own compound parts and alternative readings. Lexical-only recall@1, extras at
# 1.0 / 0.5 / 0.3: Turku paraphrases fi->fi 0.526 / 0.540 / 0.544; Tatoeba fi->en with both
# languages in one index 0.544 / 0.575 / 0.588 (English-only index: 0.64 throughout).
OWN_EXTRA_WEIGHT = 0.3
CONCEPT_WEIGHT = 1.0  # a concept label in another language
CONCEPT_SYNONYM_WEIGHT = 0.5  # another label of the concept in the query's language
CONCEPT_PART_FACTOR = 0.8  # the concept was matched by a compound part only
COVERED_FACTOR = 0.5  # dictionary translations of a word a concept already translated
PART_FACTOR = 0.7  # dictionary translations of a compound part when the whole had its own
MAX_PHRASE_WORDS = 3  # longest multiword dictionary headword looked up

Span = tuple[int, int]  # the query tokens a translation stands for, [start, end)
# (target lemma, source lemma or phrase, weight, span, kind) -> None
OfferSink = Callable[[str, str, float, Span, str], None]


class LexicalAnalyzer:
    """Language detection, lemmas, sparse vectors and query translation (fi, en, sv)."""

    def __init__(
        self,
        lemmatizer: Lemmatizer,
        dictionaries: Mapping[tuple[str, str], BilingualDictionary] | None = None,
        concepts: ConceptVocabulary | None = None,
        encoder: SparseEncoder | None = None,
        detector: LanguageDetector | None = None,
        translate: bool = True,
    ) -> None:
        self.lemmatizer = lemmatizer
        self.dictionaries = dict(dictionaries or {})
        self.concepts = concepts
        self.encoder = encoder or SparseEncoder()
        self.detector = detector or LanguageDetector()
        self.translate = translate

    @property
    def signature(self) -> str:
        """What document vectors depend on: store it with an index and compare on open."""
        return f"{self.lemmatizer.name};{self.encoder.name}"

    def warm_up(self, languages: Sequence[str] = LANGUAGES) -> None:
        """Load everything now (about 1-2 s) instead of on the first calls."""
        self.detector.detect("warm up")
        for language in languages:
            self.analyse_query("warm up", language)
            if self.translate and self.concepts is not None:
                self.concepts.find([], language)
        for dictionary in self.dictionaries.values():
            dictionary.preload()

    # --- TextAnalyzer -------------------------------------------------------------------

    def detect_language(self, text: str) -> str:
        return self.detector.detect(text)

    def lemmas(self, text: str, language: str) -> list[str]:
        return self.lemmatizer.lemmas(text, language)

    def encode_document(self, text: str, language: str) -> SparseVector:
        return self.encoder.encode_document(self.lemmatizer.lemmas(text, language))

    def encode_lemmas(self, lemmas: Sequence[str]) -> SparseVector:
        """Document vector from lemmas already computed (ingest lemmatises passages once)."""
        return self.encoder.encode_document(lemmas)

    def analyse_document(self, text: str, language: str) -> tuple[list[str], SparseVector]:
        """Lemmas (for the payload's ``terms``) and the sparse vector, lemmatising once."""
        lemmas = self.lemmatizer.lemmas(text, language)
        return lemmas, self.encoder.encode_document(lemmas)

    def analyse_query(self, text: str, language: str) -> QueryTerms:
        tokens = self.lemmatizer.tokens(text, language)
        own: dict[str, float] = {}
        for token in tokens:
            own[token.lemma] = 1.0
        for token in tokens:
            for extra in (*token.parts, *token.alternatives):
                own.setdefault(extra, OWN_EXTRA_WEIGHT)
        translations: dict[str, tuple[str, float]] = {}
        if self.translate and tokens:
            self._translate(tokens, language, own, translations)
        weights = {lemma: weight for lemma, (_, weight) in translations.items()}
        weights.update(own)
        return QueryTerms(
            language=language,
            lemmas=list(own),
            translations=translations,
            sparse=self.encoder.encode_query(weights),
        )

    # --- translation --------------------------------------------------------------------

    def _translate(
        self,
        tokens: Sequence[Token],
        language: str,
        own: dict[str, float],
        out: dict[str, tuple[str, float]],
    ) -> None:
        def add(target: str, source: str, weight: float, _span: Span, _kind: str) -> None:
            if target in own:  # the query's own lemma: keep it there, at the higher weight
                own[target] = max(own[target], weight)
                return
            if weight <= 0.0:
                return
            previous = out.get(target)
            if previous is None or weight > previous[1]:
                out[target] = (source, weight)

        self.offer_translations(tokens, language, add)

    def offer_translations(self, tokens: Sequence[Token], language: str, offer: OfferSink) -> None:
        """Every translation the concepts and the dictionaries offer for the query's words,
        in the order ``_translate`` merges them (the first of equal weights names the
        source), each with the tokens it translates and where it came from (concept,
        synonym, phrase, word, part): a replay can weigh them per word
        (benchmarks/replay_lexical.py)."""
        covered: set[int] = set()
        if self.concepts is not None:
            for match in self.concepts.find(tokens, language):
                factor = CONCEPT_PART_FACTOR if match.via_part else 1.0
                if not match.via_part:
                    covered.update(range(match.start, match.end))
                span = (match.start, match.end)
                for target in LANGUAGES:
                    weight = CONCEPT_SYNONYM_WEIGHT if target == language else CONCEPT_WEIGHT
                    kind = "synonym" if target == language else "concept"
                    for lemma, share in self.concepts.lemmas(match.index, target).items():
                        offer(lemma, match.source, weight * share * factor, span, kind)

        for (source, _), dictionary in self.dictionaries.items():
            if source != language:
                continue
            for start, end in _phrases(len(tokens)):
                phrase = " ".join(token.lemma for token in tokens[start:end])
                # Most spans are no headword: asking first keeps them out of the
                # translation cache, where a long import's spans would push out the words.
                if phrase not in dictionary:
                    continue
                for target, weight in dictionary.weighted_translations(phrase):
                    offer(target, phrase, weight, (start, end), "phrase")
                covered.update(range(start, end))
            for position, token in enumerate(tokens):
                factor = COVERED_FACTOR if position in covered else 1.0
                span = (position, position + 1)
                found = dictionary.weighted_translations(token.lemma)
                for target, weight in found:
                    offer(target, token.lemma, weight * factor, span, "word")
                part_factor = factor * (PART_FACTOR if found else 1.0)
                for extra in (*token.parts, *token.alternatives):
                    for target, weight in dictionary.weighted_translations(extra):
                        offer(target, extra, weight * part_factor, span, "part")


def _phrases(n_tokens: int) -> Iterable[tuple[int, int]]:
    """Spans of 2..MAX_PHRASE_WORDS tokens."""
    for size in range(2, MAX_PHRASE_WORDS + 1):
        for start in range(0, n_tokens - size + 1):
            yield start, start + size


def explain_terms(query_terms: QueryTerms, record_terms: Iterable[str]) -> list[str]:
    """The terms a query and a record share, shown in the query's language.

    A record lemma reached through a translation is shown as the query's source lemma
    ("loneliness" in an English record -> "yksinäisyys" for a Finnish query). Query order,
    no repeats.
    """
    record = set(record_terms)
    shown: dict[str, None] = {}
    for lemma in query_terms.lemmas:
        if lemma in record:
            shown[lemma] = None
    for target, (source, _) in query_terms.translations.items():
        if target in record:
            shown[source] = None
    order = {lemma: i for i, lemma in enumerate(query_terms.lemmas)}
    return sorted(shown, key=lambda term: order.get(term.split(" ")[0], len(order)))


def build_analyzer(
    use_voikko: bool | Literal["auto", "voikko", "simplemma"] = "auto",
    dict_dir: Path | str | None = DEFAULT_DICT_DIR,
    translate: bool = True,
    concepts_path: Path | str | None = None,
    default_language: str = "fi",
    table_dir: Path | None = None,
) -> LexicalAnalyzer:
    """The analyzer with its parts; cheap to call (the heavy parts load on first use).

    ``use_voikko``: "auto" takes Voikko when it loads; True or "voikko" requires it; False or
    "simplemma" never tries it (the names match ``TextSettings.lemmatizer``).
    ``dict_dir``: where freedict-fin-eng.* and freedict-eng-fin.* are; None or missing files
    give one warning and no dictionary translation (the concept vocabulary still translates).
    ``translate=False`` turns all query translation off.
    ``table_dir``: where the dictionaries' translation tables are (``translation_table``);
    None or no current table: translations are computed on first use.
    """
    prefer: Literal["auto", "voikko", "simplemma"]
    if use_voikko is True or use_voikko == "voikko":
        prefer = "voikko"
    elif use_voikko is False or use_voikko == "simplemma":
        prefer = "simplemma"
    elif use_voikko == "auto":
        prefer = "auto"
    else:
        raise ValueError(
            f"use_voikko must be 'auto', 'voikko', 'simplemma' or a bool: {use_voikko!r}"
        )
    lemmatizer = make_lemmatizer(prefer)
    dictionaries: dict[tuple[str, str], BilingualDictionary] = {}
    concepts: ConceptVocabulary | None = None
    if translate:
        concepts = ConceptVocabulary.load(lemmatizer, concepts_path)
        missing: list[str] = []
        for source, target in DICTIONARY_PAIRS:
            if dict_dir is None:
                missing.append(f"{source}-{target}")
                continue
            try:
                dictionary = BilingualDictionary.freedict(
                    dict_dir, source, target, gloss_lemmatizer(lemmatizer, target)
                )
            except FileNotFoundError:
                missing.append(f"{source}-{target}")
                continue
            if table_dir is not None:
                use_table(dictionary, lemmatizer, Path(table_dir))
            dictionaries[(source, target)] = dictionary
        if missing:
            log.warning(
                "FreeDict dictionaries %s not found in %s: queries are translated by the "
                "concept vocabulary only (install dict-freedict-fin-eng dict-freedict-eng-fin)",
                ", ".join(missing),
                dict_dir,
            )
    return LexicalAnalyzer(
        lemmatizer,
        dictionaries=dictionaries,
        concepts=concepts,
        detector=LanguageDetector(default_language),
        translate=translate,
    )
