"""Why a record matched: its best passage and the terms it shares with the query."""

from __future__ import annotations

import re
from typing import Any

from simatch.domain.ports import QueryTerms

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖÜ0-9\"'(])")
MAX_PASSAGE_CHARS = 300


def split_passages(text: str) -> list[str]:
    """Sentences, with very short ones joined to the next so that a passage says something."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    passages: list[str] = []
    buffer = ""
    for sentence in sentences:
        buffer = f"{buffer} {sentence}".strip() if buffer else sentence
        if len(buffer) >= 60:
            passages.append(buffer)
            buffer = ""
    if buffer:
        passages.append(buffer)
    return passages


def query_term_weights(terms: QueryTerms) -> dict[str, tuple[str, float]]:
    """Every lemma that counts as the query's, mapped to (lemma shown to the user, weight)."""
    weights: dict[str, tuple[str, float]] = {lemma: (lemma, 1.0) for lemma in terms.lemmas}
    for translated, (source, weight) in terms.translations.items():
        if translated not in weights or weights[translated][1] < weight:
            weights[translated] = (source, weight)
    return weights


def best_passage(
    passages: list[dict[str, Any]], weights: dict[str, tuple[str, float]]
) -> tuple[str, list[str]]:
    """The passage sharing most (weighted) query terms and the shared terms, as the user wrote them.

    Falls back to the first descriptive passage when nothing is shared (a purely semantic match).
    """
    best_text, best_score, best_terms = "", 0.0, []
    for index, passage in enumerate(passages):
        shown: dict[str, float] = {}
        for term in passage.get("terms", []):
            hit = weights.get(term)
            if hit is not None:
                shown[hit[0]] = max(shown.get(hit[0], 0.0), hit[1])
        score = sum(shown.values())
        if score > best_score or (index == 0 and not best_text):
            if score > best_score:
                best_score = score
                best_terms = sorted(shown, key=lambda t: -shown[t])
            best_text = passage["text"]
    # The first passage is usually the title: prefer the second one for a semantic match.
    if best_score == 0.0 and len(passages) > 1:
        best_text = passages[1]["text"]
    return _clip(best_text), best_terms


def shared_terms(record_terms: list[str], weights: dict[str, tuple[str, float]]) -> list[str]:
    shown: dict[str, float] = {}
    for term in record_terms:
        hit = weights.get(term)
        if hit is not None:
            shown[hit[0]] = max(shown.get(hit[0], 0.0), hit[1])
    return sorted(shown, key=lambda t: -shown[t])


def _clip(text: str) -> str:
    if len(text) <= MAX_PASSAGE_CHARS:
        return text
    cut = text[:MAX_PASSAGE_CHARS].rsplit(" ", 1)[0]
    return cut + " …"
