"""Lexical-channel replay: how the query-side translation weights move the lexical and the
fused rankings (issue 10, seventh round; benchmarks/README.md).

The dumps of ``replay_thirdparty.py`` keep the product's dense rankings and its lexical hits
with their BM25 scores; this rebuilds every collection's sparse vectors with the product's
own analyzer and ingest path (``Ingestor._lexical``), scores BM25 as the index does
(``sum(query * idf * document)``, Qdrant's IDF ``ln(1 + (N - n + 0.5) / (n + 0.5))``), and
re-analyses each question with a variant of how the translations of a word are weighted
(the translations ``LexicalAnalyzer.offer_translations`` lists per word, then a variant of
the merge ``LexicalAnalyzer._translate`` makes). The lexical top 60 is then fused with the product's
dense ranking as ``domain.fusion`` does (RRF, k 60). The demo set and Tatoeba fi->en (the
1,000 English sentences as records, ``tatoeba.run``'s first direction) are replayed the same
way.

    flock /tmp/simatch-cpu.lock .venv/bin/python benchmarks/replay_lexical.py build --demo \
        --out data/replay/lexclir-coll.pkl
    .venv/bin/python benchmarks/replay_lexical.py check data/replay/dev.pkl \
        --demo data/replay/demo.pkl --coll data/replay/lexclir-coll.pkl
    .venv/bin/python benchmarks/replay_lexical.py round7 data/replay/dev.pkl \
        --demo data/replay/demo.pkl --coll data/replay/lexclir-coll.pkl [--quick] [--only A,B]
    .venv/bin/python benchmarks/replay_lexical.py ceiling data/replay/dev.pkl \
        --demo data/replay/demo.pkl --coll data/replay/lexclir-coll.pkl

``round7`` prints the table of benchmarks/README.md ("Seventh round"); the Tatoeba question
vectors are read from ``tatoeba.pkl`` next to the first dump (``replay_thirdparty.py
tatoeba``). ``ceiling`` replaces each Finnish question's channels by its English twin's.
The "family" variants need snowballstemmer, which the product does not depend on (``pip install
--target DIR snowballstemmer`` and ``PYTHONPATH=DIR``); without it they equal main.
``build`` lemmatises every record (a few minutes: 12,475 ESF organisations twice, once as
actors and once in the mixed index); the rest takes seconds per variant once the questions'
tokens are memoised. Collections are local scratch under the git-ignored ``data/``.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay_thirdparty import (
    DEPTH,
    EVALDATA,
    Space,
    _dense,
    load,
    product_scorer,
    replay_demo,
    rrf,
)

from simatch.config import REPO_ROOT, load_settings
from simatch.domain.centring import load_centring
from simatch.domain.confidence import load_calibration
from simatch.evaluation.judged import read_records
from simatch.evaluation.metrics import mean_metrics
from simatch.evaluation.suite import OUT_OF_DOMAIN, SUITE, options_for
from simatch.ingest.pipeline import Ingestor
from simatch.text.analyzer import LexicalAnalyzer
from simatch.text.factory import build_text_analyzer
from simatch.text.lemmas import Token
from simatch.text.sparse import SparseEncoder, term_index

Weights = dict[str, float]
ENCODER = SparseEncoder()  # a query's weights -> its sparse vector, as the product encodes it
# own lemmas (query's language), the offers, the question's language -> query weights
Combine = Callable[[Weights, list["Offer"], str], Weights]


@dataclass(frozen=True, slots=True)
class Offer:
    """One translation offered for a query word: ``target`` lemma for the ``source`` lemma
    (or phrase, or concept match) at ``weight``; ``span`` is the tokens it translates and
    ``kind`` where it came from (concept, synonym, phrase, word, part; base and family are
    this replay's own)."""

    target: str
    source: str
    weight: float
    span: tuple[int, int]
    kind: str


def offers_of(an: LexicalAnalyzer, tokens: Sequence[Token], language: str) -> list[Offer]:
    """The translations the product offers for the question's words, in its order."""
    offers: list[Offer] = []

    def keep(target: str, source: str, weight: float, span: tuple[int, int], kind: str) -> None:
        offers.append(Offer(target, source, weight, span, kind))

    an.offer_translations(tokens, language, keep)
    return offers


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def analyzer() -> LexicalAnalyzer:
    found = build_text_analyzer(load_settings().text)
    assert isinstance(found, LexicalAnalyzer)
    return found


# -- collections -----------------------------------------------------------------------------


def _collection(an: LexicalAnalyzer, rows: Sequence[Any], key_of: Callable[[Any], str]) -> dict:
    """Sparse vectors (as the index stores them) of the valid records, by key."""
    fake = SimpleNamespace(pause=lambda: None, analyzer=an)
    keys, languages, vectors = [], [], []
    for n, row in enumerate(rows):
        record = Ingestor.validate(row)[0]
        if record is None:
            continue
        if not record.language:
            record.language = an.detect_language(record.search_text())  # type: ignore[assignment]
        _, _, sparse = Ingestor._lexical(fake, record)  # type: ignore[arg-type]
        keys.append(key_of(record))
        languages.append(str(record.language))
        vectors.append((list(sparse.indices), list(sparse.values)))
        if n % 2000 == 0:
            _log(f"  {n} records")
    return {"keys": keys, "languages": languages, "vectors": vectors}


def build(demo: bool, out: Path) -> None:
    an = analyzer()
    colls: dict[str, dict] = {}
    for spec in SUITE + OUT_OF_DOMAIN:
        key = ",".join(spec.records) + "|" + spec.kind  # as replay_thirdparty.dump keys them
        if key in colls:
            continue
        _log(f"{key}")
        rows = list(read_records(options_for(spec, EVALDATA, "all", None).records, spec.kind))
        colls[key] = _collection(an, rows, lambda r: str(r.id))
    if demo:
        from simatch.evaluation.dataset import project_set

        eval_set = project_set(load_settings().index.indexes_dir)
        _log("demo")
        colls["demo"] = _collection(an, eval_set.rows(), lambda r: str(r.key))
    colls["tatoeba-en"] = tatoeba_collection(an)
    with out.open("wb") as fh:
        pickle.dump(colls, fh)
    _log(f"written {out}")


def tatoeba_collection(an: LexicalAnalyzer) -> dict:
    """Tatoeba fi->en: the English sentences as the product imports them (``tatoeba.run``),
    with their stored (raw document) vectors, imported through the product once so that the
    evaluation's embedding cache holds them."""
    from simatch.evaluation.tatoeba import load_pairs, records
    from simatch.evaluation.workspace import Workspace
    from simatch.ingest.cache import text_key

    pairs = load_pairs(EVALDATA)
    rows = records(pairs, "en")
    _log("tatoeba")
    out = _collection(an, rows, lambda r: str(r.id))
    settings = load_settings()
    workspace = Workspace(settings, settings.index.data_dir / "eval")
    try:
        box = workspace.container(f"tatoeba-en-{len(pairs)}")
        workspace.ingest(box, rows)
        valid = [r for r in (Ingestor.validate(row)[0] for row in rows) if r is not None]
        keys = [text_key(workspace.embedder.model_id, r.search_text()) for r in valid]
        cached = workspace.cache.get_many(keys)
    finally:
        workspace.close()
    out["dense"] = [cached[k] for k in keys]
    out["fi_text"] = [p.fi for p in pairs]
    return out


class Collection:
    """A record collection's sparse matrix (dense columns over the terms present) and IDF."""

    def __init__(self, raw: dict) -> None:
        self.keys = list(raw["keys"])
        self.position = {k: n for n, k in enumerate(self.keys)}
        columns: dict[int, int] = {}
        rows, cols, vals = [], [], []
        for n, (indices, values) in enumerate(raw["vectors"]):
            for i, v in zip(indices, values, strict=True):
                rows.append(n)
                cols.append(columns.setdefault(i, len(columns)))
                vals.append(v)
        from scipy.sparse import csc_matrix

        self.columns = columns
        self.matrix = csc_matrix(
            (np.array(vals, np.float64), (np.array(rows), np.array(cols))),
            shape=(len(self.keys), len(columns)),
        )
        df = np.diff(self.matrix.indptr)
        n = sum(1 for indices, _ in raw["vectors"] if indices)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def scores(self, weights: Weights) -> np.ndarray:
        query = ENCODER.encode_query(weights)  # merged as the product merges them
        return self.scores_sparse(query.indices, query.values)

    def scores_sparse(self, indices: Sequence[int], values: Sequence[float]) -> np.ndarray:
        q = np.zeros(len(self.columns))
        for i, v in zip(indices, values, strict=True):
            c = self.columns.get(i)
            if c is not None:
                q[c] = v * self.idf[c]
        return np.asarray(self.matrix @ q)

    def top(self, scores: np.ndarray, eligible: Sequence[int] | None = None) -> list[str]:
        index = np.arange(len(self.keys)) if eligible is None else np.asarray(eligible)
        s = scores[index]
        keep = index[s > 0]
        s = s[s > 0]
        order = np.argsort(-s, kind="stable")[:DEPTH]
        return [self.keys[keep[i]] for i in order]


# -- queries ---------------------------------------------------------------------------------


class Questions:
    """Memoised tokens, offers and own lemmas per question text (as ``analyse_query``)."""

    def __init__(self, an: LexicalAnalyzer) -> None:
        self.an = an
        self.memo: dict[str, tuple[str, Weights, list[Offer], list[Token]]] = {}

    def get(self, text: str) -> tuple[str, Weights, list[Offer], list[Token]]:
        found = self.memo.get(text)
        if found is None:
            from simatch.domain.matcher import _clean
            from simatch.evaluation.judged_run import fitting

            clean = _clean(" ".join(fitting(text, 4000).split()))
            language = self.an.detect_language(clean)
            tokens = self.an.lemmatizer.tokens(clean, language)
            own: Weights = {}
            for token in tokens:
                own[token.lemma] = 1.0
            for token in tokens:
                for extra in (*token.parts, *token.alternatives):
                    own.setdefault(extra, 0.3)
            offers = offers_of(self.an, tokens, language) if tokens and self.an.translate else []
            if language == "fi" and tokens:
                offers = offers + self.base_offers(tokens, offers)
                offers = offers + self.family_offers(offers)
            found = (language, own, offers, list(tokens))
            self.memo[text] = found
        return found

    def bases(self, lemma: str) -> list[str]:
        """Derivational bases of a Finnish lemma from Voikko's WORDBASES ("osallistuva" ->
        osallistua, "vaikuttavuus" -> vaikuttaa): the base of the last component's head when
        a derivational suffix follows it."""
        from simatch.text.lemmas import _WORDBASE

        analyse = getattr(self.an.lemmatizer, "analyse", None)
        if analyse is None:
            return []
        found: list[str] = []
        for analysis in analyse(lemma):
            groups: list[list[tuple[str, str]]] = []
            for surface, base in _WORDBASE.findall(analysis.get("WORDBASES", "")):
                if surface == "-" and not base:
                    groups.append([])
                    continue
                if (not base or base.startswith("+")) and groups and groups[-1]:
                    groups[-1].append((surface, base))
                else:
                    groups.append([(surface, base)])
            groups = [g for g in groups if g]
            if groups and len(groups[-1]) > 1:
                head = groups[-1][0][1]
                if head and not head.startswith("+"):
                    b = head.replace("=", "").lower()
                    if b != lemma and b not in found:
                        found.append(b)
        return found

    def base_offers(self, tokens: Sequence[Token], offers: list[Offer]) -> list[Offer]:
        """Translations of the derivational bases of words the dictionary did not translate,
        as offers of kind "base" (full dictionary weight; variants scale them) and
        "base_bare" (the word had no offer at all, concepts and parts included)."""
        dictionary = self.an.dictionaries.get(("fi", "en"))
        if dictionary is None:
            return []
        spans_with: set[tuple[int, int]] = set()
        spans_word: set[tuple[int, int]] = set()
        for o in offers:
            if o.kind in ("concept", "phrase"):
                for p in range(*o.span):
                    spans_with.add((p, p + 1))
            else:
                spans_with.add(o.span)
            if o.kind == "word":
                spans_word.add(o.span)
        out: list[Offer] = []
        for position, token in enumerate(tokens):
            span = (position, position + 1)
            if span in spans_word:
                continue
            kind = "base" if span in spans_with else "base_bare"
            for base in self.bases(token.lemma):
                for target, weight in dictionary.weighted_translations(base):
                    out.append(Offer(target, base, weight, span, kind))
        return out

    _families: dict[str, list[str]] | None = None

    def family_offers(self, offers: list[Offer]) -> list[Offer]:
        """English words of the same Snowball stem as a translation ("participate" ->
        participation, participatory), from the en->fi dictionary's one-word headwords, as
        offers of kind "family" at the translation's weight (variants scale them)."""
        if self._families is None:
            try:  # not a dependency of the product: install it for this replay only
                import snowballstemmer  # type: ignore[import-not-found]
            except ImportError:
                _log("no snowballstemmer: the family variants equal main")
                self._families = {}
                return []

            stemmer = snowballstemmer.stemmer("english")
            families: dict[str, list[str]] = {}
            en = self.an.dictionaries.get(("en", "fi"))
            for h in en.headwords() if en is not None else []:
                if h.isalpha() and len(h) > 3:
                    families.setdefault(stemmer.stemWord(h), []).append(h)
            self._stem = stemmer
            self._families = families
        if not self._families:
            return []
        out = []
        for o in offers:
            if o.kind not in ("word", "part", "phrase", "concept") or not o.target.isalpha():
                continue
            for w in self._families.get(self._stem.stemWord(o.target), []):
                if w != o.target:
                    out.append(Offer(w, o.target, o.weight, o.span, "family"))
        return out

    def product_sparse(self, text: str) -> Any:
        """The product's own query vector for this text (for ``check``)."""
        from simatch.domain.matcher import _clean
        from simatch.evaluation.judged_run import fitting

        clean = _clean(" ".join(fitting(text, 4000).split()))
        return self.an.analyse_query(clean, self.an.detect_language(clean)).sparse

    def weights(self, text: str, combine: Combine) -> Weights:
        language, own, offers, _ = self.get(text)
        return combine(dict(own), offers, language)


def merge(own: Weights, offers: Sequence[tuple[str, float]]) -> Weights:
    """``_translate``'s merge: an own lemma keeps the higher weight, else max per target."""
    out: Weights = {}
    for target, w in offers:
        if target in own:
            own[target] = max(own[target], w)
            continue
        if w <= 0.0:
            continue
        if w > out.get(target, 0.0):
            out[target] = w
    out.update(own)
    return out


PRODUCT_KINDS = ("concept", "synonym", "phrase", "word", "part")


def product(own: Weights, offers: list[Offer], language: str) -> Weights:
    return merge(own, [(o.target, o.weight) for o in offers if o.kind in PRODUCT_KINDS])


# -- variants (Finnish questions only unless ``languages`` says otherwise) --------------------


def group_key(o: Offer, by: str) -> Any:
    if by == "source":
        return o.source
    if by == "span":
        return o.span
    if by == "source_kind":
        return (o.source, o.kind)
    raise ValueError(by)


def balanced(
    total: float | None = 1.0,
    by: str = "source",
    mode: str = "sum",
    kinds: tuple[str, ...] = ("word", "part", "phrase", "concept"),
    languages: tuple[str, ...] = ("fi",),
    floor: float = 0.0,
) -> Combine:
    """Translations of one source share a fixed total: ``sum`` scales a group whose weights
    sum above ``total`` down to it; ``sqrt`` divides by sqrt(sum of weights) (times total);
    ``max`` leaves the largest at its weight and the rest scaled to share ``total``."""

    def combine(own: Weights, offers: list[Offer], language: str) -> Weights:
        if language not in languages:
            return product(own, offers, language)
        groups: dict[Any, float] = {}
        for o in offers:
            if o.kind in kinds:
                key = group_key(o, by)
                groups[key] = groups.get(key, 0.0) + o.weight
        pairs = []
        for o in offers:
            w = o.weight
            if o.kind not in PRODUCT_KINDS:
                continue
            if o.kind in kinds:
                g = groups[group_key(o, by)]
                if mode == "sum" and total is not None and g > total:
                    w = w * total / g
                elif mode == "sqrt" and g > 0:
                    w = w * (total or 1.0) / math.sqrt(g) if g > 1 else w
                w = max(w, floor * o.weight)
            pairs.append((o.target, w))
        return merge(own, pairs)

    return combine


def scaled(
    factors: dict[str, float], languages: tuple[str, ...] = ("fi",), keep: int = 6
) -> Combine:
    """Each offer's weight times the factor of its kind; at most ``keep`` word translations
    per source (their order is the dictionary's rank)."""

    def combine(own: Weights, offers: list[Offer], language: str) -> Weights:
        if language not in languages:
            return product(own, offers, language)
        seen: dict[Any, int] = {}
        pairs = []
        for o in offers:
            if o.kind in ("word", "part", "phrase"):
                k = (o.source, o.span)
                seen[k] = seen.get(k, 0) + 1
                if seen[k] > keep:
                    continue
            factor = factors.get(o.kind, 1.0 if o.kind in PRODUCT_KINDS else 0.0)
            pairs.append((o.target, o.weight * factor))
        return merge(own, pairs)

    return combine


# The collection being searched, for the IDF-aware variants (which need what the query side of
# the product cannot see: each translation's document frequency in the index).
CURRENT: list[Collection] = []


def idf_aware(ratio: float, mode: str = "drop") -> Combine:
    """A dictionary translation whose IDF in the searched collection is below ``ratio`` times
    the best of its siblings' (the same source word) is dropped, or (``scale``) weighted by
    its IDF over theirs."""

    def combine(own: Weights, offers: list[Offer], language: str) -> Weights:
        if language != "fi":
            return product(own, offers, language)
        coll = CURRENT[0]

        def idf(lemma: str) -> float | None:
            col = coll.columns.get(term_index(lemma))
            return float(coll.idf[col]) if col is not None else None

        best: dict[Any, float] = {}
        for o in offers:
            i = idf(o.target) if o.kind in ("word", "part", "phrase") else None
            if i is not None:
                best[(o.source, o.span)] = max(best.get((o.source, o.span), 0.0), i)
        pairs = []
        for o in offers:
            if o.kind not in PRODUCT_KINDS:
                continue
            w = o.weight
            i = idf(o.target) if o.kind in ("word", "part", "phrase") else None
            top = best.get((o.source, o.span))
            if i is not None and top and i < ratio * top:
                w = 0.0 if mode == "drop" else w * i / top
            pairs.append((o.target, w))
        return merge(own, pairs)

    return combine


# -- evaluation ------------------------------------------------------------------------------


def lexical_lists(
    d: dict, colls: dict[str, Collection], qs: Questions, combine: Combine, names: Sequence[str]
) -> dict[str, list[list[str]]]:
    out = {}
    for name in names:
        s = d["sets"][name]
        coll = colls[s["records_key"]]
        CURRENT[:] = [coll]
        out[name] = [coll.top(coll.scores(qs.weights(t, combine))) for _, t, _, _ in s["queries"]]
    return out


def figures(d: dict, name: str, lexical: list[list[str]], language: str | None) -> dict[str, Any]:
    s = d["sets"][name]
    rows = [
        (n, set(g))
        for n, (_, _, lang, g) in enumerate(s["queries"])
        if language is None or s["languages"][n] == language
    ]
    dense = s["rankings"]["dense"]
    fused = [[k for k, _ in rrf(dense[n], lexical[n])] for n, _ in rows]
    mf = mean_metrics((f, g) for f, (_, g) in zip(fused, rows, strict=True))
    ml = mean_metrics((lexical[n], g) for n, g in rows)
    return {
        "fused5": mf.recall[5],
        "fused10": mf.recall[10],
        "lex5": ml.recall[5],
        "lex10": ml.recall[10],
        "fused_mrr": mf.mrr,
        "lex_mrr": ml.mrr,
        "n": len(rows),
        "per_question": [
            mean_metrics([(fl, g)]).recall[5 if name == "participedia_cases_fi" else 10]
            for fl, (_, g) in zip(fused, rows, strict=True)
        ],
    }


def demo_replay(
    demo: dict, coll: Collection, qs: Questions, combine: Combine, c: Any, cal: Any
) -> dict[str, float]:
    patched = {**demo, "questions": []}
    CURRENT[:] = [coll]
    for q in demo["questions"]:
        text = q["text"]
        scores = coll.scores(qs.weights(text, combine))
        entry = dict(q)
        for pool in ("judged", "others", "calls"):
            eligible = [coll.position[k] for k in q[pool]["eligible"] if k in coll.position]
            entry[pool] = {**q[pool], "lexical": coll.top(scores, eligible)}
        patched["questions"].append(entry)
    return replay_demo(patched, c, product_scorer(c), cal)


def tatoeba_replay(
    tatoeba: dict, qs: Questions, combine: Combine, c: Any, coll: Collection
) -> tuple[float, float]:
    """fi→en top-1 (English sentences as the records; the product's fused first)."""
    en_vecs = tatoeba["en_docs"]
    space = Space(
        {f"t{i}": v for i, v in zip(tatoeba["ids"], en_vecs, strict=True)},
        {f"t{i}": "en" for i in tatoeba["ids"]},
        c,
    )
    scorer = product_scorer(c)
    CURRENT[:] = [coll]
    hits = lexical = 0
    for n, i in enumerate(tatoeba["ids"]):
        dense = _dense(space, scorer(space, tatoeba["fi"][n], "fi"))
        lex = coll.top(coll.scores(qs.weights(tatoeba["fi_text"][n], combine)))
        fused = rrf(dense, lex)
        hits += bool(fused) and fused[0][0] == f"t{i}"
        lexical += bool(lex) and lex[0] == f"t{i}"
    return hits / len(tatoeba["ids"]), lexical / len(tatoeba["ids"])


def _setup(dumps: Sequence[Path], demo_path: Path, coll_path: Path) -> tuple[Any, ...]:
    from simatch.evaluation.dataset import project_set
    from simatch.evaluation.retrieval import _texts

    d = load(dumps)
    with demo_path.open("rb") as fh:
        demo = pickle.load(fh)
    eval_set = project_set(load_settings().index.indexes_dir)
    texts = [text for _, _, text in _texts(eval_set.queries)]
    assert len(texts) == len(demo["questions"])
    for q, text in zip(demo["questions"], texts, strict=True):
        q["text"] = text
    with coll_path.open("rb") as fh:
        raw = pickle.load(fh)
    colls = {k: Collection(v) for k, v in raw.items()}
    tatoeba = raw.get("tatoeba-en")
    return d, demo, colls, tatoeba


def check(dumps: Sequence[Path], demo_path: Path, coll_path: Path) -> None:
    d, demo, colls, _ = _setup(dumps, demo_path, coll_path)
    qs = Questions(analyzer())
    for name, s in d["sets"].items():
        coll = colls[s["records_key"]]
        same = same_w = same_s = same_q = 0
        for n, (_, text, _, _) in enumerate(s["queries"]):
            w = qs.weights(text, product)
            same_q += qs.an.encoder.encode_query(w) == qs.product_sparse(text)
            got_w = sorted(v for v in w.values() if v > 0)
            want = s["lexical"][n]
            same_w += (
                np.allclose(sorted(got_w), sorted(want["weights"]))
                if len(got_w) == len(want["weights"])
                else 0
            )
            scores = coll.scores(w)
            top = coll.top(scores)
            same += top[:10] == [i for _, i, _ in want["hits"][:10]]
            wanted = np.array([sc for _, _, sc in want["hits"][:10]])
            got = np.sort(scores)[::-1][: len(wanted)]
            same_s += np.allclose(got, wanted, rtol=1e-4, atol=1e-4)
        print(
            f"{name}: {len(s['queries'])} questions; sparse query equal to analyse_query's "
            f"{same_q}, weights equal to the dump's {same_w}, top-10 scores equal {same_s}, "
            f"lexical top 10 identical {same}",
            flush=True,
        )
    coll = colls["demo"]
    same = total = 0
    for q in demo["questions"]:
        scores = coll.scores(qs.weights(q["text"], product))
        for pool in ("judged", "others", "calls"):
            eligible = [coll.position[k] for k in q[pool]["eligible"] if k in coll.position]
            same += coll.top(scores, eligible)[:10] == q[pool]["lexical"][:10]
            total += 1
    print(f"demo: lexical top 10 identical in {same} of {total} pools")


BASELINE: dict[Any, Any] | None = None
SETS = (
    "participedia_cases_fi",
    "mixed",
    "esf_peers",
    "participedia_cases",
    "participedia_problems",
)


def row(label: str, combine: Combine, ctx: tuple[Any, ...]) -> dict[str, Any]:
    d, demo, colls, tatoeba, qs, c, cal, with_extra = ctx
    names = [n for n in SETS if n in d["sets"]]
    lex = lexical_lists(d, colls, qs, combine, names)
    f: dict[str, Any] = {}
    for name in names:
        for language in ("fi", "en"):
            f[(name, language)] = figures(d, name, lex[name], language)
    cf_fi, cf_en = f[("participedia_cases_fi", "fi")], f[("participedia_cases_fi", "en")]
    mx_fi, mx_en = f[("mixed", "fi")], f[("mixed", "en")]
    cells = [
        f"{cf_fi['fused5']:.3f} / {cf_en['fused5']:.3f}",
        f"{cf_fi['fused10']:.3f} / {cf_fi['fused_mrr']:.3f}",
        f"{cf_fi['lex5']:.3f} / {cf_fi['lex10']:.3f} / {cf_fi['lex_mrr']:.3f}",
        f"{mx_fi['fused10']:.3f} / {mx_en['fused10']:.3f}",
        f"{mx_fi['fused_mrr']:.3f} / {mx_fi['lex10']:.3f}",
        f"{f[('esf_peers', 'fi')]['fused10']:.3f}",
        f"{f[('participedia_cases', 'en')]['fused5']:.3f}",
        f"{f[('participedia_problems', 'en')]['fused5']:.3f}",
    ]
    global BASELINE
    if BASELINE is None:
        BASELINE = f
    moved = []
    for key in (("participedia_cases_fi", "fi"), ("mixed", "fi")):
        a, b = np.array(BASELINE[key]["per_question"]), np.array(f[key]["per_question"])
        moved.append(f"{int((b > a).sum())}+/{int((b < a).sum())}-")
    cells.append(" ".join(moved))
    fused1, lexical1 = tatoeba_replay(tatoeba, qs, combine, c, colls["tatoeba-en"])
    cells.append(f"{fused1:.3f} / {lexical1:.3f}")
    if with_extra:
        dm = demo_replay(demo, colls["demo"], qs, combine, c, cal)
        cells.append(
            f"{dm['all']:.3f} / {dm['fi→fi']:.3f} / {dm['fi→en']:.3f} / {dm['en→fi']:.3f} / "
            f"{dm['en→en']:.3f}"
        )
        cells.append(f"{dm['off_topic_flagged']:.3f} / {dm['answered']:.3f}")
    print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    return {"sets": f, "lexical": lex}


HEADER = (
    "| `dev` (replay) | cases_fi fi / en fused R@5 | cases_fi fi fused R@10 / MRR "
    "| cases_fi fi lexical R@5 / R@10 / MRR | mixed fi / en fused R@10 | mixed fi fused MRR / "
    "lexical R@10 | ESF R@10 | cases R@5 | problems R@5 | fused better/worse: cases_fi fi, "
    "mixed fi | Tatoeba fi→en top-1 fused / lexical "
    "| demo R@5 all / fi→fi / fi→en / en→fi / en→en | demo off-topic flagged / answered |"
)


def context(dumps: Sequence[Path], demo_path: Path, coll_path: Path, extra: bool) -> tuple:
    d, demo, colls, tatoeba = _setup(dumps, demo_path, coll_path)
    c = load_centring(REPO_ROOT / "indexes" / "language_means.json", d["model"])
    cal = load_calibration(REPO_ROOT / "indexes" / "calibration.json", d["model"])
    if tatoeba is not None:
        import pickle as _p

        with (dumps[0].parent / "tatoeba.pkl").open("rb") as fh:
            t = _p.load(fh)
        tatoeba = {
            "ids": t["ids"],
            "fi": t["fi"],
            "en_docs": tatoeba["dense"],
            "fi_text": tatoeba["fi_text"],
        }
    return d, demo, colls, tatoeba, Questions(analyzer()), c, cal, extra


VARIANTS: list[tuple[str, Combine]] = [
    ("as kept (main)", product),
    ("sum 1 per source (dictionary)", balanced(1.0, "source", kinds=("word", "part", "phrase"))),
    ("sum 1.5 per source (dictionary)", balanced(1.5, "source", kinds=("word", "part", "phrase"))),
    ("sum 2 per source (dictionary)", balanced(2.0, "source", kinds=("word", "part", "phrase"))),
    ("sum 3 per source (dictionary)", balanced(3.0, "source", kinds=("word", "part", "phrase"))),
    ("sum 1 per source (+concepts)", balanced(1.0, "source")),
    ("sum 2 per source (+concepts)", balanced(2.0, "source")),
    ("sum 1 per word span (+concepts)", balanced(1.0, "span")),
    ("sum 2 per word span (+concepts)", balanced(2.0, "span")),
    ("sum 1 per word span (dictionary)", balanced(1.0, "span", kinds=("word", "part", "phrase"))),
    ("sqrt per source (dictionary)", balanced(1.0, "source", "sqrt", ("word", "part", "phrase"))),
    ("sqrt per source (+concepts)", balanced(1.0, "source", "sqrt")),
    ("sqrt per span (+concepts)", balanced(1.0, "span", "sqrt")),
    ("IDF-aware: drop below 0.3 of the best sibling", idf_aware(0.3)),
    ("IDF-aware: drop below 0.5", idf_aware(0.5)),
    ("IDF-aware: drop below 0.7", idf_aware(0.7)),
    ("IDF-aware: scaled by IDF / best sibling's", idf_aware(1.01, "scale")),
    ("parts x0", scaled({"part": 0.0})),
    ("parts x0.5", scaled({"part": 0.5})),
    ("parts x1.43 (1.0)", scaled({"part": 1.0 / 0.7})),
    ("concepts x0.5", scaled({"concept": 0.5})),
    ("concepts x1.5", scaled({"concept": 1.5})),
    ("phrases x0.5", scaled({"phrase": 0.5})),
    ("dictionary x0.5 (concepts 1.0)", scaled({"word": 0.5, "part": 0.5, "phrase": 0.5})),
    ("dictionary x0.7 (concepts 1.0)", scaled({"word": 0.7, "part": 0.7, "phrase": 0.7})),
    ("phrases x1.5", scaled({"phrase": 1.5})),
    ("keep 3", scaled({}, keep=3)),
    ("keep 4", scaled({}, keep=4)),
    ("keep 5", scaled({}, keep=5)),
    ("translations x0.7", scaled({k: 0.7 for k in ("concept", "phrase", "word", "part")})),
    ("translations x1.5", scaled({k: 1.5 for k in ("concept", "phrase", "word", "part")})),
    ("translations x2", scaled({k: 2.0 for k in ("concept", "phrase", "word", "part")})),
    ("family x1", scaled({"family": 1.0})),
    ("family x0.5", scaled({"family": 0.5})),
    ("family x0.3", scaled({"family": 0.3})),
    ("family x0.5 + bases x0.5", scaled({"family": 0.5, "base": 0.5, "base_bare": 0.5})),
    ("bases of untranslated words x1", scaled({"base": 1.0, "base_bare": 1.0})),
    ("bases x0.7", scaled({"base": 0.7, "base_bare": 0.7})),
    ("bases x0.5", scaled({"base": 0.5, "base_bare": 0.5})),
    ("bases of words with no offer at all x1", scaled({"base_bare": 1.0})),
    ("bases of words with no offer at all x0.5", scaled({"base_bare": 0.5})),
]


def round7(
    dumps: Sequence[Path], demo_path: Path, coll_path: Path, extra: bool, only: str | None
) -> None:
    ctx = context(dumps, demo_path, coll_path, extra)
    print(HEADER)
    for label, combine in VARIANTS:
        if only is None or label == VARIANTS[0][0] or any(o in label for o in only.split(",")):
            row(label, combine, ctx)


def _wrrf(dense: Sequence[str], lexical: Sequence[str], weight: float, k: int = 60) -> list[str]:
    score: dict[str, float] = {}
    for w, ids in ((1.0, dense), (weight, lexical)):
        for rank, key in enumerate(ids, start=1):
            score[key] = score.get(key, 0.0) + w / (k + rank)
    return [key for key, _ in sorted(score.items(), key=lambda e: (-e[1], e[0]))]


def ceiling(dumps: Sequence[Path], demo_path: Path, coll_path: Path) -> None:
    """How much a better lexical translation could give the Finnish questions at most: each
    Finnish question's channels replaced by its English twin's (the same case in English),
    and oracles that keep only the translations the twin's query has, or add what it lacks."""
    d, _, colls, _ = _setup(dumps, demo_path, coll_path)
    qs = Questions(analyzer())
    for name in ("participedia_cases_fi", "mixed"):
        if name not in d["sets"]:
            continue
        s = d["sets"][name]
        coll = colls[s["records_key"]]
        twins: dict[str, dict[str, tuple[int, str, set[str]]]] = {}
        for n, (qid, text, _, gold) in enumerate(s["queries"]):
            twins.setdefault(qid, {})[s["languages"][n]] = (n, text, set(gold))
        pairs = [t for t in twins.values() if "fi" in t and "en" in t]
        dense = s["rankings"]["dense"]
        lexical = {
            lang: [coll.top(coll.scores(qs.weights(t[lang][1], product))) for t in pairs]
            for lang in ("fi", "en")
        }
        gold = [t["fi"][2] for t in pairs]
        print(f"## {name} ({len(pairs)} Finnish questions with their English twin)")
        for dl in ("fi", "en"):
            for ll in ("fi", "en"):
                for weight in (1.0, 1.5, 2.0):
                    fused = [
                        _wrrf(dense[t[dl][0]], lexical[ll][i], weight) for i, t in enumerate(pairs)
                    ]
                    m = mean_metrics(zip(fused, gold, strict=True))
                    print(
                        f"dense from {dl}, lexical from {ll}, lexical weight {weight}: fused "
                        f"R@5 {m.recall[5]:.3f} R@10 {m.recall[10]:.3f} MRR {m.mrr:.3f}"
                    )

        def idf(lemma: str, coll: Collection = coll) -> float:
            col = coll.columns.get(term_index(lemma))
            return float(coll.idf[col]) if col is not None else 0.0

        def only_twins(fi: Weights, en: Weights) -> Weights:
            return {k: v for k, v in fi.items() if k in en or idf(k) == 0.0}

        def plus_missing(fi: Weights, en: Weights) -> Weights:
            return {**{k: v for k, v in en.items()}, **fi}

        for label, oracle in (
            ("translations the twin's query has", only_twins),
            ("plus the twin's lemmas the Finnish query lacks", plus_missing),
        ):
            lists = [
                coll.top(
                    coll.scores(
                        oracle(qs.weights(t["fi"][1], product), qs.weights(t["en"][1], product))
                    )
                )
                for t in pairs
            ]
            m = mean_metrics(zip(lists, gold, strict=True))
            f = mean_metrics(
                ([k for k, _ in rrf(dense[t["fi"][0]], lists[i])], gold[i])
                for i, t in enumerate(pairs)
            )
            print(
                f"oracle, {label}: lexical R@5 {m.recall[5]:.3f} R@10 {m.recall[10]:.3f}; fused "
                f"R@5 {f.recall[5]:.3f} R@10 {f.recall[10]:.3f}"
            )
        covered = []
        for t in pairs:
            fi, en = qs.weights(t["fi"][1], product), qs.weights(t["en"][1], product)
            mass = {k: idf(k) for k in en if idf(k) > 0}
            covered.append(
                sum(v for k, v in mass.items() if k in fi) / max(sum(mass.values()), 1e-9)
            )
        print(f"share of the twin query's IDF mass the Finnish query has: {np.mean(covered):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build")
    p.add_argument("--demo", action="store_true")
    p.add_argument("--tatoeba-only", action="store_true", help="redo Tatoeba in --out")
    p.add_argument("--out", type=Path, required=True)
    for name in ("check", "round7", "ceiling"):
        p = sub.add_parser(name)
        p.add_argument("dumps", type=Path, nargs="+")
        p.add_argument("--demo", type=Path, required=True)
        p.add_argument("--coll", type=Path, required=True)
        p.add_argument("--quick", action="store_true", help="no demo")
        p.add_argument("--only", help="variants whose label contains one of these (comma)")
    args = parser.parse_args()
    if args.command == "build":
        if args.tatoeba_only:
            with args.out.open("rb") as fh:
                colls = pickle.load(fh)
            colls["tatoeba-en"] = tatoeba_collection(analyzer())
            with args.out.open("wb") as fh:
                pickle.dump(colls, fh)
        else:
            build(args.demo, args.out)
    elif args.command == "check":
        check(args.dumps, args.demo, args.coll)
    elif args.command == "ceiling":
        ceiling(args.dumps, args.demo, args.coll)
    else:
        round7(args.dumps, args.demo, args.coll, not args.quick, args.only)


if __name__ == "__main__":
    main()
