"""Dense vectors on which the language must not matter, and the topic still does.

A multilingual embedding places every text near the mean vector of its language, so a
Finnish question scores any Finnish record above an English record on the same topic (on the
demo data, raw dense recall@5 for English questions and Finnish records was 0.09 against 0.98
for English records). Three things are done about it, measured per model on Tatoeba fi-en
(the same sentences in both languages) and stored in ``indexes/language_means.json``:

1. **Common centring.** The mean of the measured languages' means (one vector, the same for
   every language) is subtracted and the vector renormalised: the direction every text
   shares is removed (Libovický et al. 2020, "On the language neutrality of pre-trained
   multilingual representations"; Mu and Viswanath 2018, "All-but-the-top"). Within one
   language this ranks better than the raw cosine on the third-party sets (Finnish ESF
   peers, English Participedia). Subtracting each language's *own* mean, as before, also
   removed a language direction that carries topic within Finnish text: dense recall@10 on
   the Finnish ESF peers fell from 0.133 (raw) to 0.081 (``benchmarks/README.md``).
2. **A lift for another language.** A record in another language than the question's gets
   ``offsets[question language]`` added to its similarity (a constant per question language,
   chosen on the third-party dev sets), so records in both languages compete on one scale
   while the ranking within a language stays the common-centred cosine.
3. **A question's own language left out against other languages.** Against a record in
   another language, a question in a language of ``drop_own`` also loses its own
   language's direction (its mean minus the common one; weight ``drop_own``), as
   per-language centring did: Finnish questions find English records better that way
   (chosen on the dev sets; English questions did not gain).

All of it is exact in one dense search: a record is stored as ``[d, onehot(language),
projections]`` (``d`` its common-centred unit vector; per language of ``SHIFTED`` its
projection on that language's direction, zero for records in that language, each padded so
that every record has the same norm) and a question searches with ``[q, lifts, -drop, pads]``.
Their cosine is ``scale * (q . d + lift - drop * projection)``, one constant for every
record and question, so it is a similarity like any other for ranking and calibration. The
index stores ``EXTRA_DIMS`` more dimensions than the model gives, and records ``signature``
(IndexMeta.dense) so that an index stored in another space is refused.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from simatch.domain.per_model import read_entry, write_entry
from simatch.domain.ports import Vector

# One slot per record language the import format takes, and one for anything else.
SLOTS: tuple[str, ...] = ("fi", "en", "sv", "other")
# Question languages that may leave their own direction out against other languages' records.
SHIFTED: tuple[str, ...] = ("fi", "en")
# The language slots and the lifts' padding; per shifted language a record's projection on
# that language's direction and its padding; the question's padding of that part.
EXTRA_DIMS = len(SLOTS) + 1 + 2 * len(SHIFTED) + 1
# Every question's lifts fit in this squared norm (each lift at most sqrt(LIFT_NORM / 3)).
LIFT_NORM = 0.25


@dataclass(frozen=True)
class LanguageCentring:
    model_id: str
    queries: Mapping[str, Vector]  # language -> mean query vector
    documents: Mapping[str, Vector]  # language -> mean document vector
    source: str = ""
    measured_on: str = ""
    # question language -> similarity added to records in another language (others: the mean)
    offsets: Mapping[str, float] = field(default_factory=dict)
    offsets_source: str = ""
    # question language -> how much of its own direction it leaves out against records in
    # another language (0: none, 1: all, as per-language centring did), and the mean distance
    # of its questions from the common mean (measured with the means)
    drop_own: Mapping[str, float] = field(default_factory=dict)
    spread: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.offsets:
            slots = len(SLOTS) - 1
            worst = max(self.offsets.values(), key=abs)
            if worst * worst * slots > LIFT_NORM:
                raise ValueError(f"language offset {worst} is larger than the space allows")
        unknown = sorted(set(self.drop_own) - set(SHIFTED))
        if unknown or any(self.drop_own.get(k) and not self.spread.get(k) for k in SHIFTED):
            raise ValueError(f"drop_own needs a measured spread, for {', '.join(SHIFTED)} only")

    @property
    def signature(self) -> str:
        """Changes whenever the means, the lifts or the drops change (stored with an index as
        IndexMeta.dense)."""
        digest = hashlib.sha256()
        for side in (self.queries, self.documents):
            for language in sorted(side):
                digest.update(language.encode())
                digest.update(np.asarray(side[language], np.float32).tobytes())
        for name, values in (("lift", self.offsets), ("drop", self._drops())):
            for language in sorted(values):
                digest.update(f"{name}:{language}={values[language]:.6f}".encode())
        return f"lifted:{digest.hexdigest()[:12]}"

    @cached_property
    def scale(self) -> float:
        """Index cosine = scale * (centred cosine + lift - drop): the norms of the stored
        record and of the question, the same for every record and question."""
        record = 2.0 + sum(float(np.dot(d, d)) for d in self._directions().values())
        question = 1.0 + LIFT_NORM + max(self._drops().values(), default=0.0) ** 2
        return 1.0 / math.sqrt(record * question)

    def lift(self, question: str, record: str) -> float:
        """What a record in language ``record`` gains for a question in ``question``."""
        if question == record:
            return 0.0
        found = self.offsets.get(question)
        if found is not None:
            return found
        return float(np.mean(list(self.offsets.values()))) if self.offsets else 0.0

    def record_lift(self, question: str, record: str | None) -> float:
        """The similarity a record in language ``record`` gained, on the index's scale, for a
        question in ``question`` (the part of its index similarity that is the lift; the
        record is stored in the slot ``centre_documents`` gives it)."""
        slot = (record or "fi") if (record or "fi") in SLOTS else "other"
        return self.scale * self.lift(question, _slot(slot))

    def centre_query(self, vector: Vector, language: str) -> Vector:
        """The question as the index is searched with (``EXTRA_DIMS`` longer than the model's)."""
        centred = _unit(np.asarray(vector, np.float32)[None, :] - _common(self.queries))[0]
        lifts = [self.lift(language, _slot(slot)) for slot in SLOTS]
        pad = math.sqrt(max(0.0, LIFT_NORM - sum(x * x for x in lifts)))
        drops = self._drops()
        own = drops.get(language, 0.0)
        shifted: list[float] = []
        for other in SHIFTED:
            shifted += [-own if other == language else 0.0, 0.0]
        most = max(drops.values(), default=0.0)
        rest = math.sqrt(max(0.0, most * most - own * own))
        out = np.concatenate([centred, np.asarray([*lifts, pad, *shifted, rest], np.float32)])
        norm = math.sqrt(1.0 + LIFT_NORM + most * most)
        scaled: Vector = (out / norm).astype(np.float32)
        return scaled

    def centre_documents(self, vectors: Vector, languages: Sequence[str]) -> Vector:
        """Records as the index stores them (unit length, ``EXTRA_DIMS`` longer)."""
        centred = _unit(np.asarray(vectors, np.float32) - _common(self.documents))
        extra = np.zeros((len(centred), EXTRA_DIMS), np.float32)
        for row, language in enumerate(languages):
            extra[row, SLOTS.index(language if language in SLOTS else "other")] = 1.0
        first = len(SLOTS) + 1
        directions = self._directions()
        for n, question in enumerate(SHIFTED):
            direction = directions.get(question)
            if direction is None:
                continue
            bound = float(np.linalg.norm(direction))
            along = centred @ direction
            along[[lang == question for lang in languages]] = 0.0  # own language: no drop
            extra[:, first + 2 * n] = along
            extra[:, first + 2 * n + 1] = np.sqrt(np.clip(bound * bound - along * along, 0, None))
        norm = math.sqrt(2.0 + sum(float(np.dot(d, d)) for d in directions.values()))
        stored: Vector = (np.concatenate([centred, extra], axis=1) / norm).astype(np.float32)
        return stored

    def _drops(self) -> dict[str, float]:
        """Per shifted question language, the weight of its record projection (drop/spread)."""
        return {
            k: self.drop_own.get(k, 0.0) / self.spread[k] if self.drop_own.get(k) else 0.0
            for k in SHIFTED
        }

    def _directions(self) -> dict[str, Vector]:
        """Each shifted language's own direction among questions (its mean minus the common)."""
        common = _common(self.queries)
        return {
            k: (np.asarray(self.queries[k], np.float32) - common).astype(np.float32)
            for k in SHIFTED
            if self.drop_own.get(k) and k in self.queries
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "measured_on": self.measured_on,
            "offsets": dict(sorted(self.offsets.items())),
            "offsets_source": self.offsets_source,
            "drop_own": dict(sorted(self.drop_own.items())),
            "spread": {k: round(v, 6) for k, v in sorted(self.spread.items())},
            "query": {k: _rounded(v) for k, v in sorted(self.queries.items())},
            "document": {k: _rounded(v) for k, v in sorted(self.documents.items())},
        }


def fit_centring(
    model_id: str,
    queries: Mapping[str, Vector],
    documents: Mapping[str, Vector],
    source: str,
    measured_on: str,
    offsets: Mapping[str, float] | None = None,
    offsets_source: str = "",
    drop_own: Mapping[str, float] | None = None,
) -> LanguageCentring:
    """Means of embedded parallel text: ``queries["fi"]`` is (n, dim) of Finnish sentences.
    ``offsets`` and ``drop_own`` are not fitted here (they are chosen on judged data; a
    refit keeps them); the spread of each language's questions is.

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
        offsets=dict(offsets or {}),
        offsets_source=offsets_source,
        drop_own=dict(drop_own or {}),
        spread={k: _spread(v, queries) for k, v in queries.items()},
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
        offsets={k: float(v) for k, v in (entry.get("offsets") or {}).items()},
        offsets_source=str(entry.get("offsets_source", "")),
        drop_own={k: float(v) for k, v in (entry.get("drop_own") or {}).items()},
        spread={k: float(v) for k, v in (entry.get("spread") or {}).items()},
    )


def save_centring(path: Path, centring: LanguageCentring) -> None:
    """Write or replace this model's entry; other models' entries are kept."""
    write_entry(path, centring.model_id, centring.to_json(), indent=1)


def _slot(slot: str) -> str:
    return "" if slot == "other" else slot  # a record of another language: never the question's


def _spread(vectors: Vector, by_language: Mapping[str, Vector]) -> float:
    """Mean distance of these questions from the common mean of every language's questions."""
    common = np.mean(
        np.stack([np.asarray(v, np.float32).mean(axis=0) for v in by_language.values()]), axis=0
    )
    distances = np.linalg.norm(np.asarray(vectors, np.float32) - _stored(common), axis=1)
    return round(float(distances.mean()), 6)


def _common(means: Mapping[str, Vector]) -> Vector:
    """The direction every language shares: the mean of the measured languages' means."""
    common: Vector = np.mean(np.stack(list(means.values())), axis=0).astype(np.float32)
    return common


def _unit(vectors: Vector) -> Vector:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: Vector = (vectors / norms).astype(np.float32)
    return unit


def _rounded(vector: Vector) -> list[float]:
    return [round(float(x), 6) for x in vector]


def _stored(vector: Vector) -> Vector:
    return np.asarray(_rounded(vector), dtype=np.float32)


__all__ = [
    "EXTRA_DIMS",
    "LanguageCentring",
    "fit_centring",
    "load_centring",
    "save_centring",
]
