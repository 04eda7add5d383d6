"""Per-language centring of dense vectors: the language must not matter.

A multilingual embedding places every text near the mean vector of its language, so a
Finnish question scores any Finnish record above an English record on the same topic (on the
demo data, dense recall@5 for Finnish questions and English records was 0.18 against 0.94 for
Finnish records). Subtracting each language's mean vector before the cosine removes that
shared direction (Libovický et al. 2020, "On the language neutrality of pre-trained
multilingual representations").

The means are measured per model on parallel text (Tatoeba fi-en: the same sentences in both
languages, so the difference of the means is the language and nothing else), once for
queries and once for documents, and stored in ``indexes/language_means.json`` by
``simatch eval --calibrate``. A language without a measured mean (Swedish) takes the average
of the measured ones: its common, not its language-specific, part is removed.

Records are indexed with centred vectors, so the index records ``signature`` (IndexMeta.dense)
and refuses queries centred with other means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simatch.domain.per_model import read_entry, write_entry
from simatch.domain.ports import Vector


@dataclass(frozen=True)
class LanguageCentring:
    model_id: str
    queries: Mapping[str, Vector]  # language -> mean query vector
    documents: Mapping[str, Vector]  # language -> mean document vector
    source: str = ""
    measured_on: str = ""

    @property
    def signature(self) -> str:
        """Changes whenever the means change (stored with an index as IndexMeta.dense)."""
        digest = hashlib.sha256()
        for side in (self.queries, self.documents):
            for language in sorted(side):
                digest.update(language.encode())
                digest.update(np.asarray(side[language], np.float32).tobytes())
        return f"centred:{digest.hexdigest()[:12]}"

    def centre_query(self, vector: Vector, language: str) -> Vector:
        centred: Vector = _centre(vector[None, :], _mean(self.queries, language))[0]
        return centred

    def centre_documents(self, vectors: Vector, languages: Sequence[str]) -> Vector:
        out = np.asarray(vectors, dtype=np.float32).copy()
        for language in set(languages):
            rows = [i for i, lang in enumerate(languages) if lang == language]
            out[rows] = _centre(out[rows], _mean(self.documents, language))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "measured_on": self.measured_on,
            "query": {k: _rounded(v) for k, v in sorted(self.queries.items())},
            "document": {k: _rounded(v) for k, v in sorted(self.documents.items())},
        }


def fit_centring(
    model_id: str,
    queries: Mapping[str, Vector],
    documents: Mapping[str, Vector],
    source: str,
    measured_on: str,
) -> LanguageCentring:
    """Means of embedded parallel text: ``queries["fi"]`` is (n, dim) of Finnish sentences.

    Rounded as they are stored, so a fitted centring and the one loaded back are identical
    (same signature)."""
    return LanguageCentring(
        model_id=model_id,
        queries={k: _stored(np.asarray(v, np.float32).mean(axis=0)) for k, v in queries.items()},
        documents={
            k: _stored(np.asarray(v, np.float32).mean(axis=0)) for k, v in documents.items()
        },
        source=source,
        measured_on=measured_on,
    )


def load_centring(path: Path, model_id: str) -> LanguageCentring | None:
    entry = read_entry(path, model_id)
    if entry is None:
        return None
    return LanguageCentring(
        model_id=model_id,
        queries={k: np.asarray(v, np.float32) for k, v in entry["query"].items()},
        documents={k: np.asarray(v, np.float32) for k, v in entry["document"].items()},
        source=str(entry.get("source", "")),
        measured_on=str(entry.get("measured_on", "")),
    )


def save_centring(path: Path, centring: LanguageCentring) -> None:
    """Write or replace this model's entry; other models' entries are kept."""
    write_entry(path, centring.model_id, centring.to_json(), indent=1)


def _mean(means: Mapping[str, Vector], language: str) -> Vector:
    found = means.get(language)
    if found is not None:
        return found
    average: Vector = np.mean(np.stack(list(means.values())), axis=0).astype(np.float32)
    return average


def _centre(vectors: Vector, mean: Vector) -> Vector:
    shifted = np.asarray(vectors, np.float32) - mean
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    centred: Vector = (shifted / norms).astype(np.float32)
    return centred


def _rounded(vector: Vector) -> list[float]:
    return [round(float(x), 6) for x in vector]


def _stored(vector: Vector) -> Vector:
    return np.asarray(_rounded(vector), dtype=np.float32)


__all__ = ["LanguageCentring", "fit_centring", "load_centring", "save_centring"]
