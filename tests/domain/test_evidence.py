from __future__ import annotations

from simatch.domain.evidence import best_passage, query_term_weights, split_passages
from simatch.domain.ports import QueryTerms


def test_split_passages_joins_short_sentences() -> None:
    text = (
        "Otsikko. Tämä on pitkä kuvaus nuorten yksinäisyydestä pienellä paikkakunnalla "
        "Kainuussa. Lisää."
    )
    passages = split_passages(text)
    assert passages[0].startswith("Otsikko. Tämä on")
    assert all(len(p) >= 5 for p in passages)


def test_best_passage_prefers_shared_terms_and_shows_query_words() -> None:
    passages = [
        {"text": "Youth club in the village.", "terms": ["youth", "club", "village"]},
        {"text": "Weekly evenings reduce loneliness.", "terms": ["week", "evening", "loneliness"]},
    ]
    terms = QueryTerms(
        language="fi",
        lemmas=["yksinäisyys", "nuori"],
        translations={"loneliness": ("yksinäisyys", 1.0), "youth": ("nuori", 0.5)},
    )
    text, shared = best_passage(passages, query_term_weights(terms))
    assert text == "Weekly evenings reduce loneliness."
    assert shared == ["yksinäisyys"]


def test_best_passage_falls_back_to_description_for_semantic_match() -> None:
    passages = [{"text": "Title.", "terms": ["title"]}, {"text": "Body text.", "terms": ["body"]}]
    text, shared = best_passage(passages, {})
    assert (text, shared) == ("Body text.", [])
