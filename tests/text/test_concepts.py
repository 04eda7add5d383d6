from __future__ import annotations

import pytest

from simatch.text.concepts import ConceptVocabulary, parse_concepts
from simatch.text.lemmas import BaseLemmatizer, make_lemmatizer


@pytest.fixture(scope="module")
def vocabulary() -> ConceptVocabulary:
    lemmatizer: BaseLemmatizer = make_lemmatizer("auto")
    return ConceptVocabulary.load(lemmatizer)


def test_packaged_file_is_well_formed(vocabulary: ConceptVocabulary) -> None:
    ids = [concept.id for concept in vocabulary.concepts]
    assert len(ids) == len(set(ids)) >= 150
    for concept in vocabulary.concepts:
        for language in ("fi", "en", "sv"):
            assert concept.labels[language], (concept.id, language)


def test_every_finnish_and_english_label_lemmatises(vocabulary: ConceptVocabulary) -> None:
    for language in ("fi", "en"):
        for index, concept in enumerate(vocabulary.concepts):
            assert vocabulary.lemmas(index, language), (concept.id, language)


def test_parse_rejects_bad_lines() -> None:
    with pytest.raises(ValueError):
        parse_concepts("x\tonly two\n")
    parsed = parse_concepts("# comment\nid\tfi\ten\tsv\nc1\ta|b\tc\t\n")
    assert parsed[0].labels == {"fi": ("a", "b"), "en": ("c",), "sv": ()}


def found(vocabulary: ConceptVocabulary, text: str, language: str) -> dict[str, str]:
    tokens = vocabulary._lemmatizer.tokens(text, language)
    return {m.concept.id: m.source for m in vocabulary.find(tokens, language)}


def test_find_inflected_and_multiword(vocabulary: ConceptVocabulary) -> None:
    fi = found(vocabulary, "Nuorten yksinäisyys ja syrjäytyminen pienellä paikkakunnalla", "fi")
    assert {"young_people", "loneliness", "social_exclusion", "rural"} <= set(fi)
    en = found(vocabulary, "mental health services for young people taken into care", "en")
    assert {"mental_health", "young_people", "taking_into_care"} <= set(en)
    sv = found(vocabulary, "stöd för ensamma äldre", "sv")
    assert {"loneliness", "older_people"} <= set(sv)


def test_contained_match_dropped(vocabulary: ConceptVocabulary) -> None:
    # "mental health services" is one concept; "health services" inside it is not reported
    en = found(vocabulary, "mental health services", "en")
    assert "mental_health" in en and "health_care" not in en


def test_multiword_labels_share_weight(vocabulary: ConceptVocabulary) -> None:
    weights = vocabulary.lemmas(vocabulary.by_id("loneliness"), "en")
    assert weights["loneliness"] == 1.0
    assert weights["social"] == 0.5  # only in "social isolation"
