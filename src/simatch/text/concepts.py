"""A small hand-written concept vocabulary: high-confidence fi/en/sv translations and phrases.

``concepts.tsv`` (packaged beside this module) has one concept per line: id, then the Finnish,
English and Swedish labels separated by "|" ("syrjäytyminen|syrjäytynyt", "social
exclusion|marginalisation", "utanförskap"). Labels are lemmatised with the analyzer's own
lemmatizer the first time a language is needed, so the label "nuoret" matches "nuorten" (both
are "nuori"). A multiword label matches a contiguous run of a text's lemmas, stop words
dropped on both sides ("taking into care" matches "taken into care": take, care).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from simatch.text.lemmas import Lemmatizer, Token

LANGUAGES: tuple[str, ...] = ("fi", "en", "sv")
PACKAGED_FILE = "concepts.tsv"


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    labels: dict[str, tuple[str, ...]]  # language -> labels as written, preferred first


@dataclass(frozen=True, slots=True)
class ConceptMatch:
    concept: Concept
    index: int  # position of the concept in the vocabulary
    source: str  # the matched lemmas of the text, joined by spaces
    start: int  # token span in the text
    end: int
    via_part: bool = False  # matched a compound part, not the whole word


@dataclass(frozen=True, slots=True)
class _Compiled:
    # first lemma -> [(label lemmas, concept index)], longest label first
    starts: dict[str, list[tuple[tuple[str, ...], int]]]
    # concept index -> {lemma: weight} over all its labels, in label order: 1/len(label),
    # so a one-word label's lemma weighs 1.0 and each word of a two-word label 0.5
    lemmas: list[dict[str, float]]


def parse_concepts(text: str) -> list[Concept]:
    """Concepts from the TSV text (comment lines start with '#'; the header line starts 'id')."""
    concepts: list[Concept] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 1 + len(LANGUAGES):
            raise ValueError(f"concepts line {number}: expected {1 + len(LANGUAGES)} columns")
        labels = {
            lang: tuple(label.strip() for label in column.split("|") if label.strip())
            for lang, column in zip(LANGUAGES, fields[1:], strict=True)
        }
        concepts.append(Concept(fields[0].strip(), labels))
    return concepts


class ConceptVocabulary:
    """Finds concepts in lemmatised text and gives their lemmas in any language.

    Thread-safe: each language is compiled once, under a lock, on first use.
    """

    def __init__(self, concepts: Sequence[Concept], lemmatizer: Lemmatizer) -> None:
        self.concepts = list(concepts)
        self._lemmatizer = lemmatizer
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, lemmatizer: Lemmatizer, path: Path | str | None = None) -> ConceptVocabulary:
        """The packaged vocabulary, or the TSV at ``path``."""
        if path is None:
            text = resources.files(__package__).joinpath(PACKAGED_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        return cls(parse_concepts(text), lemmatizer)

    def __len__(self) -> int:
        return len(self.concepts)

    def _language(self, language: str) -> _Compiled:
        compiled = self._compiled.get(language)
        if compiled is not None:
            return compiled
        with self._lock:
            if language not in self._compiled:
                self._compiled[language] = self._compile(language)
            return self._compiled[language]

    def _compile(self, language: str) -> _Compiled:
        starts: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        all_lemmas: list[dict[str, float]] = []
        for index, concept in enumerate(self.concepts):
            weights: dict[str, float] = {}
            for label in concept.labels.get(language, ()):
                key = tuple(t.lemma for t in self._lemmatizer.tokens(label, language))
                if not key:
                    continue
                for lemma in key:
                    weights[lemma] = max(weights.get(lemma, 0.0), 1.0 / len(key))
                entries = starts.setdefault(key[0], [])
                if (key, index) not in entries:
                    entries.append((key, index))
            all_lemmas.append(weights)
        for entries in starts.values():
            entries.sort(key=lambda entry: -len(entry[0]))
        return _Compiled(starts, all_lemmas)

    def lemmas(self, index: int, language: str) -> Mapping[str, float]:
        """{lemma: weight} of concept ``index``'s labels in ``language``, preferred label first.

        Each word of an n-word label weighs 1/n (one-word labels 1.0): a record that has the
        whole phrase gets the concept's full weight, one that shares a generic word of it
        ("social" of "social isolation") only part. Empty when the language has no label.
        """
        return self._language(language).lemmas[index]

    def by_id(self, concept_id: str) -> int:
        """Index of the concept with this id (ValueError when there is none)."""
        for index, concept in enumerate(self.concepts):
            if concept.id == concept_id:
                return index
        raise ValueError(f"no concept {concept_id!r}")

    def find(self, tokens: Sequence[Token], language: str) -> list[ConceptMatch]:
        """Concepts whose labels occur in ``tokens``; a match inside a longer one is dropped.

        A compound part ("nuorisotyöpaja" -> nuoriso) or another reading of an ambiguous word
        matches one-word labels when the word itself matched nothing (``via_part``).
        """
        compiled = self._language(language)
        lemmas = [token.lemma for token in tokens]
        spans: list[tuple[int, int, int]] = []  # (start, end, concept index)
        for start, lemma in enumerate(lemmas):
            for key, index in compiled.starts.get(lemma, ()):
                end = start + len(key)
                if tuple(lemmas[start:end]) == key:
                    spans.append((start, end, index))
        kept = [
            (s, e, i)
            for s, e, i in spans
            if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in spans)
        ]
        found: dict[tuple[int, int], ConceptMatch] = {}
        for s, e, i in kept:
            if (s, i) not in found:
                found[(s, i)] = ConceptMatch(self.concepts[i], i, " ".join(lemmas[s:e]), s, e)
        covered = {position for s, e, _ in kept for position in range(s, e)}
        for position, token in enumerate(tokens):
            if position in covered:
                continue
            for part in (*token.parts, *token.alternatives):
                for key, index in compiled.starts.get(part, ()):
                    if len(key) == 1 and (position, index) not in found:
                        concept = self.concepts[index]
                        found[(position, index)] = ConceptMatch(
                            concept, index, part, position, position + 1, via_part=True
                        )
        return list(found.values())
