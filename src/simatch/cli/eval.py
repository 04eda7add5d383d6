"""`simatch eval`: match quality, calibration and the check against recorded thresholds."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from simatch.cli.terminal import err, out
from simatch.config import REPO_ROOT, Settings, load_settings
from simatch.errors import SimatchError
from simatch.evaluation.calibrate import current_commit, round_floats

SET_NAMES = ("demo", "tatoeba", "turku", "thirdparty", "all")


def eval_command(
    set_name: Annotated[
        str,
        typer.Option(
            "--set",
            help="demo, tatoeba, turku, all (those three) or thirdparty (the public judged "
            "sets of benchmarks/README.md; slow the first time).",
            show_default=True,
        ),
    ] = "all",
    subset: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Small run: N answerable demo questions (+ the no-match ones), N Tatoeba "
            "pairs, N Turku pairs per class.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="Refit language means, confidence and the duplicate threshold; write "
            "indexes/language_means.json and indexes/calibration.json (full sets only)."
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            help="Exit 1 when a figure drops below indexes/eval/thresholds.json "
            "(thresholds_thirdparty.json for --set thirdparty)."
        ),
    ] = False,
    evaldata: Annotated[
        Path | None, typer.Option(help="Public sets (default: ../shared/evaldata).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Scratch indexes and embedding cache (default: <data dir>/eval)."),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Embedding cache file (default: in the workdir).")
    ] = None,
    records: Annotated[
        list[Path] | None,
        typer.Option(
            "--records",
            help="A judged set's records (import format, or JSONL {id, title, text}); "
            "repeat for several files in one index. With --queries: evaluate that set.",
        ),
    ] = None,
    queries: Annotated[
        list[Path] | None,
        typer.Option(
            "--queries",
            help="Judged questions, JSONL {id, text, language?, gold_ids[]}; repeatable "
            "(a question without gold_ids takes those of the same id in another file).",
        ),
    ] = None,
    kinds: Annotated[
        str,
        typer.Option(
            help="Record kinds judged, comma-separated; records without a kind get the first."
        ),
    ] = "innovation",
    split: Annotated[
        str | None,
        typer.Option(
            help="dev, test or all: questions by a stable hash of their id (default: all "
            "with --records, test with --set thirdparty)."
        ),
    ] = None,
    text_field: Annotated[
        str, typer.Option(help="Question field to read (e.g. text_title_masked).")
    ] = "text",
) -> None:
    """Measure match quality: recall@k and MRR per channel and language pair, Tatoeba, Turku;
    or, with --records and --queries, any judged set against two baselines."""
    from simatch.evaluation.harness import DEFAULT_EVALDATA, SETS, EvalOptions, run_eval
    from simatch.evaluation.judged import SPLITS
    from simatch.evaluation.thresholds import check as check_report
    from simatch.evaluation.thresholds import load_thresholds, subset_size

    if set_name not in SET_NAMES:
        err.print(f"--set must be one of {', '.join(SET_NAMES)}")
        raise typer.Exit(2)
    if calibrate and subset:
        err.print("--calibrate measures the full sets; leave out --subset")
        raise typer.Exit(2)
    try:
        settings = load_settings()
    except SimatchError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    if records or queries:
        _judged(
            settings, records, queries, kinds, split or "all", text_field, subset, as_json,
            workdir, cache,
        )  # fmt: skip
        return
    sets = SETS if set_name == "all" else (set_name,)
    if (split or "test") not in SPLITS:
        err.print(f"--split must be one of {', '.join(SPLITS)}")
        raise typer.Exit(2)
    options = EvalOptions(
        split=split or "test",  # type: ignore[arg-type]
        sets=sets,
        subset=subset,
        calibrate=calibrate,
        evaldata=evaldata or DEFAULT_EVALDATA,
        workdir=workdir,
        cache=cache,
    )
    missing = [s for s in sets if s != "demo" and not options.evaldata.is_dir()]
    if missing:
        err.print(f"{options.evaldata} not found: needed for {', '.join(missing)}")
        raise typer.Exit(2)
    report = run_eval(settings, options, log=lambda m: err.print(f"[dim]{m}[/]"))
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_report(report)
    if check:
        name = "thresholds_thirdparty.json" if set_name == "thirdparty" else "thresholds.json"
        path = settings.index.indexes_dir / "eval" / name
        recorded = subset_size(path)
        if subset and recorded and subset != recorded:
            err.print(f"[yellow]thresholds were recorded for --subset {recorded}[/]")
        failures = check_report(report, load_thresholds(path, subset))
        for failure in failures:
            err.print(f"[red]below threshold[/] {failure}")
        if failures:
            raise typer.Exit(1)
        err.print("[green]all figures at or above the recorded thresholds[/]")


def _judged(
    settings: Settings,
    records: list[Path] | None,
    queries: list[Path] | None,
    kinds: str,
    split: str,
    text_field: str,
    subset: int | None,
    as_json: bool,
    workdir: Path | None,
    cache: Path | None,
) -> None:
    from simatch.domain.records import KINDS
    from simatch.evaluation.dataset import EvalFormatError
    from simatch.evaluation.judged import SPLITS
    from simatch.evaluation.judged_run import JudgedOptions, judged_report, run_judged
    from simatch.evaluation.workspace import Workspace

    if not records or not queries:
        err.print("--records and --queries go together")
        raise typer.Exit(2)
    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    if not chosen or any(k not in KINDS for k in chosen):
        err.print(f"--kinds takes {', '.join(KINDS)} (comma-separated)")
        raise typer.Exit(2)
    if split not in SPLITS:
        err.print(f"--split must be one of {', '.join(SPLITS)}")
        raise typer.Exit(2)
    for path in [*records, *queries]:
        if not path.is_file():
            err.print(f"{path}: no such file")
            raise typer.Exit(2)
    options = JudgedOptions(
        records=records,
        queries=queries,
        kinds=chosen,
        split=split,  # type: ignore[arg-type]
        text_field=text_field,
        subset=subset,
    )
    workspace = Workspace(settings, workdir or settings.index.data_dir / "eval", cache=cache)
    try:
        run = run_judged(workspace, options, log=lambda m: err.print(f"[dim]{m}[/]"))
        report = {
            "model": workspace.embedder.model_id,
            "commit": current_commit(REPO_ROOT),
            "date": date.today().isoformat(),
            **judged_report(run, options),
        }
    except EvalFormatError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    finally:
        workspace.close()
    if as_json:
        sys.stdout.write(json.dumps(round_floats(report), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_judged(report)


def _print_judged(report: dict[str, Any]) -> None:
    out.print(
        f"model {report['model']}, commit {report['commit'] or '?'}, {report['date']}; "
        f"{report['records']['n']} records {report['records']['languages']}, "
        f"{report['queries']['n']} questions ({report['queries']['split']}) "
        f"{report['queries']['languages']}"
    )
    out.print("[bold]channel  pair            R@1   R@5   R@10  MRR   nDCG@10 (n)[/]")
    for channel, pairs in report["channels"].items():
        for pair, m in pairs.items():
            out.print(
                f"  {channel:11} {pair:14} {m['recall@1']:.3f} {m['recall@5']:.3f} "
                f"{m['recall@10']:.3f} {m['mrr']:.3f} {m['ndcg@10']:.3f} ({m['n']})"
            )
    for name, value in report["margins"].items():
        out.print(f"  {name}: {value:+.3f}")


def _print_report(report: dict[str, Any]) -> None:
    out.print(f"model {report['model']}, commit {report['commit'] or '?'}, {report['date']}")
    demo = report.get("demo")
    if demo:
        out.print("\n[bold]demo: recall@1 / recall@5 / recall@10 / MRR (n)[/]")
        for channel, pairs in demo["retrieval"].items():
            for pair, m in pairs.items():
                out.print(
                    f"  {channel:8} {pair:7} {m['recall@1']:.3f} {m['recall@5']:.3f} "
                    f"{m['recall@10']:.3f} {m['mrr']:.3f} ({m['n']})"
                )
        for name, value in demo["acceptance"].items():
            out.print(f"  {name}: {value:+.3f}")
        honesty = demo["honesty"]
        out.print(
            f"  no_good_match: {honesty['no_match_queries_flagged']:.2f} of no-match questions,"
            f" {honesty['answerable_queries_flagged']:.2f} of the others; match ms (without "
            f"embedding) {honesty['match_ms_without_embedding']}"
        )
        if "duplicates" in demo:
            out.print(f"  duplicates: {demo['duplicates']}")
    for name in ("tatoeba", "turku"):
        if name in report:
            out.print(f"\n[bold]{name}[/] {report[name]}")
    suite = report.get("thirdparty")
    if suite:
        out.print(
            f"\n[bold]third-party sets ({suite['split']})[/]: headline figure, fused vs baselines"
        )
        for name, entry in suite.items():
            if not isinstance(entry, dict) or "questions" not in entry:
                continue
            line = f"  {name:28} n={entry['questions']:<5}"
            t = entry.get("target")
            if t:
                line += (
                    f" {entry['metric']} {entry['pair']}: fused {t['fused']:.3f}, bare "
                    f"{t['bare_model']:.3f}, bm25 {t['bm25']:.3f} "
                    f"({t['fused_minus_best_baseline']:+.3f})"
                )
                if "fi_minus_en" in t:
                    line += f", fi-en {t['fi_minus_en']:+.3f}"
            if "no_good_match" in entry:
                line += f"; no_good_match {entry['no_good_match']:.2f}"
            out.print(line)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
