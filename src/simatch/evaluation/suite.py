"""The third-party benchmark: public judged sets (``../shared/evaldata``) run as one suite.

In-domain sets (each with its headline metric, the issue's targets in ``benchmarks/README.md``):

- ``participedia_cases``: real cases → the methods Participedia's editors tagged (English).
- ``participedia_problems``: a method's "problems and purpose" section, its name masked → the
  method (problem → solution).
- ``participedia_cases_fi``: the same cases asked in English and in Finnish (our 120
  translations, ``indexes/eval/participedia_fi``) of the English records; "paired" figures
  compare the two languages on the same ids.
- ``esf_peers``: Finnish ESF project titles → the organisation that ran them (peers, recall@10).
- ``mixed``: the Participedia records and the 12,475 Finnish ESF organisations in one index;
  the cases with a Finnish version, asked in both languages.

Out-of-domain pairs (nothing there answers the question; ``no_good_match`` should say so):
Participedia cases against the ESF organisations, Tatoeba sentences (both languages) against
the Participedia methods.

Every question falls in ``dev`` or ``test`` by a stable hash of its id: settings and the
confidence calibration are chosen on ``dev``, figures are reported on ``test``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simatch.config import REPO_ROOT
from simatch.evaluation.judged import JudgedQuery, Split
from simatch.evaluation.judged_run import JudgedOptions, JudgedRun, Log, run_judged
from simatch.evaluation.workspace import Workspace

OUR_FINNISH = REPO_ROOT / "indexes" / "eval" / "participedia_fi" / "cases_fi.jsonl"


@dataclass(frozen=True)
class SuiteSet:
    name: str
    records: tuple[str, ...]  # files under the evaldata folder
    queries: tuple[str, ...]  # files under the evaldata folder, or absolute (ours)
    kind: str = "innovation"
    text_field: str = "text"
    metric: str = "recall@5"
    pair: str = "all"  # the figure the target is on
    # questions from this set, asked here without gold (out of domain)
    foreign: str | None = None
    only_translated: bool = False  # keep only ids that have a Finnish version
    notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)


PARTICIPEDIA = ("participedia_case2method/records.jsonl",)
ESF = ("fi_eura_project2org/records.jsonl",)
CASES = "participedia_case2method/queries.jsonl"

SUITE: tuple[SuiteSet, ...] = (
    SuiteSet("participedia_cases", PARTICIPEDIA, (CASES,)),
    SuiteSet(
        "participedia_problems",
        PARTICIPEDIA,
        ("participedia_case2method/queries_method_problem.jsonl",),
        text_field="text_title_masked",
    ),
    SuiteSet(
        "participedia_cases_fi",
        PARTICIPEDIA,
        (CASES, str(OUR_FINNISH)),
        pair="fi→all paired",
        only_translated=True,
    ),
    SuiteSet(
        "esf_peers",
        ESF,
        ("fi_eura_project2org/queries.jsonl",),
        kind="actor",
        metric="recall@10",
    ),
    SuiteSet(
        "mixed",
        PARTICIPEDIA + ESF,
        (CASES, str(OUR_FINNISH)),
        metric="recall@10",
        pair="fi→all paired",
        only_translated=True,
    ),
)
OUT_OF_DOMAIN: tuple[SuiteSet, ...] = (
    SuiteSet("ood_cases_vs_esf", ESF, (CASES,), kind="actor", foreign="cases"),
    SuiteSet("ood_tatoeba_vs_participedia", PARTICIPEDIA, (), foreign="tatoeba"),
)
NAMES = tuple(s.name for s in SUITE + OUT_OF_DOMAIN)
# The quick run (`--subset N`, what CI checks): the sets on the 373 Participedia records only;
# the ESF sets need the 12,475 organisations indexed, minutes of work on a fresh machine.
QUICK = (
    "participedia_cases",
    "participedia_problems",
    "participedia_cases_fi",
    "ood_tatoeba_vs_participedia",
)


def options_for(spec: SuiteSet, evaldata: Path, split: Split, n: int | None) -> JudgedOptions:
    return JudgedOptions(
        records=[evaldata / r for r in spec.records],
        queries=[Path(q) if Path(q).is_absolute() else evaldata / q for q in spec.queries],
        kinds=(spec.kind,),
        split=split,
        text_field=spec.text_field,
        subset=n,
    )


def tatoeba_questions(evaldata: Path) -> list[JudgedQuery]:
    """Tatoeba sentences in both languages as questions without an answer."""
    path = evaldata / "tatoeba_fin_eng" / "tatoeba_fin_eng.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        for language in ("en", "fi"):
            out.append(
                JudgedQuery(f"tatoeba:{pair['id']}", pair[language], language, frozenset(), "")
            )
    return out


def foreign_questions(spec: SuiteSet, options: JudgedOptions, evaldata: Path) -> list[JudgedQuery]:
    if spec.foreign == "tatoeba":
        return tatoeba_questions(evaldata)
    from simatch.evaluation.judged import load_judged_queries

    return [
        JudgedQuery(q.qid, q.text, q.language, frozenset(), q.source)
        for q in load_judged_queries(options.queries, options.text_field)
    ]


def run_set(
    workspace: Workspace,
    spec: SuiteSet,
    evaldata: Path,
    split: Split,
    subset: int | None,
    log: Log,
) -> JudgedRun:
    options = options_for(spec, evaldata, split, None)
    questions = None
    if spec.foreign:
        questions = foreign_questions(spec, options, evaldata)
    elif spec.only_translated:
        from simatch.evaluation.judged import load_judged_queries

        loaded = load_judged_queries(options.queries, options.text_field)
        translated = {q.qid for q in loaded if q.language == "fi"}
        questions = [q for q in loaded if q.qid in translated]
    if subset is not None:
        options = options_for(spec, evaldata, split, subset)
    return run_judged(workspace, options, log, questions)


def run_suite(
    workspace: Workspace,
    evaldata: Path,
    split: Split,
    subset: int | None,
    log: Log,
    names: Sequence[str] = NAMES,
) -> dict[str, JudgedRun]:
    runs = {}
    for spec in SUITE + OUT_OF_DOMAIN:
        if spec.name in names:
            log(f"{spec.name} ({split})")
            runs[spec.name] = run_set(
                workspace, spec, evaldata, split, subset, lambda m: log("  " + m)
            )
    return runs


def spec_of(name: str) -> SuiteSet:
    return next(s for s in SUITE + OUT_OF_DOMAIN if s.name == name)
