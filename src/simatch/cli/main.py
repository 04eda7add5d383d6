"""The ``simatch`` command: ingest, delete, match, demo, info, reindex (and serve, keys, eval,
duplicates, gaps). Every command goes through the services, as the API does."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simatch.cli.alerts import register as register_alerts_commands
from simatch.cli.eval import register as register_eval_command
from simatch.cli.render import print_report, print_result
from simatch.cli.server import register as register_server_commands
from simatch.cli.sources import register as register_sources_commands
from simatch.cli.staff import register as register_staff_commands
from simatch.cli.terminal import err, opened, out
from simatch.domain.query import MAX_LIMIT, Query

app = typer.Typer(
    help="simatch: solutions, peers and funders for a described societal problem.",
    no_args_is_help=True,
    add_completion=False,
)
register_server_commands(app)  # serve, keys (simatch.cli.server)
register_eval_command(app)  # eval (simatch.cli.eval)
register_staff_commands(app)  # duplicates, gaps (simatch.cli.staff)
register_sources_commands(app)  # sources sync|status|profile (simatch.cli.sources)
register_alerts_commands(app)  # alerts run, alerts status (simatch.cli.alerts)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _count_lines(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(1 for line in handle if line.strip())
        if path.suffix.lower() in (".csv", ".tsv"):
            total -= 1
    return total


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="JSONL or CSV files.", exists=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import records; every rejected row is reported, the good rows still land (exit 1 if any)."""
    with opened() as box:
        with _progress() as progress:
            task = progress.add_task("ingest", total=_count_lines(paths))
            report = box.import_service.import_paths(paths, lambda n: progress.advance(task, n))
        if as_json:
            out.print(report.model_dump_json(indent=2))
        else:
            print_report(out, report)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def delete(
    ids: Annotated[list[str], typer.Argument(help="Record ids, or kind:id to be exact.")],
) -> None:
    """Remove records from the index."""
    with opened() as box:
        removed = box.record_service.delete_ids(ids)
        out.print(f"deleted {removed} record(s)")
        if removed < len(ids):
            raise typer.Exit(1)


@app.command()
def match(
    text: Annotated[str | None, typer.Argument(help="The problem, in Finnish or English.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    region: Annotated[
        list[str] | None, typer.Option("--region", "-r", help="Region filter.")
    ] = None,
    target_group: Annotated[list[str] | None, typer.Option("--target-group")] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="Default: SIMATCH_MATCH_LIMIT."),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Answer language: fi, en or sv.")] = None,
    batch: Annotated[
        Path | None, typer.Option(help="One query per line (text or a JSON object); JSON out.")
    ] = None,
) -> None:
    """Find solutions, peers and funders for a described problem."""
    if (text is None) == (batch is None):
        err.print("Give either TEXT or --batch FILE.")
        raise typer.Exit(2)
    with opened() as box:
        service = box.match_service
        if batch is not None:
            for line in batch.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                spec = json.loads(line) if line.lstrip().startswith("{") else {"text": line}
                given = spec.get("limit", limit)
                query = Query(
                    text=spec["text"],
                    language=spec.get("language", language),
                    regions=tuple(spec.get("regions", region or ())),
                    target_groups=tuple(spec.get("target_groups", target_group or ())),
                    limit=None if given is None else int(given),
                )
                result = service.match(query, source="cli")
                sys.stdout.write(result.model_dump_json() + "\n")
            return
        assert text is not None
        query = Query(
            text=text,
            language=language,
            regions=tuple(region or ()),
            target_groups=tuple(target_group or ()),
            limit=limit,
        )
        result = service.match(query, source="cli")
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        else:
            print_result(out, result)


@app.command()
def demo() -> None:
    """Load the bundled demo data (deadlines are set relative to today)."""
    with opened() as box:
        report = box.import_service.load_demo()
        print_report(out, report)
    if report.rejected:
        raise typer.Exit(1)


@app.command("migrate-state")
def migrate_state(
    to: Annotated[str, typer.Option(help="postgresql://user:password@host:5432/db")],
) -> None:
    """Copy this installation's state (keys, match log and feedback, gaps, duplicate flags,
    chat threads, embedding cache) from its SQLite files into PostgreSQL. Safe to run again;
    then set SIMATCH_DATABASE_URL to the same URL."""
    with opened() as box:
        copied = box.state_migration_service.migrate(to)
    for one in copied:
        out.print(f"{one.store:16} {one.read:8} read {one.added:8} added")


@app.command()
def info() -> None:
    """What the index holds and how it is configured."""
    with opened() as box:
        info = box.index_info_service.info()
    out.print(f"backend: {info.backend}")
    out.print(f"model:   {info.model_id} ({info.dim} d)")
    for kind, count in info.counts.items():
        out.print(f"{kind:11} {count}")


@app.command()
def reindex() -> None:
    """Rebuild the whole index with the configured model and runtime beside the serving one,
    then switch over when it is complete (matches meanwhile come from the old build).
    Interrupted, the old build still serves; run it again to finish. Embedded index: stop
    the server first (one process opens it), or ask the server to rebuild itself (POST
    /v1/index/reindex); with a Qdrant server it can keep serving and follows the switch."""
    with opened() as box:
        service = box.reindex_service
        with _progress() as bar:
            task = bar.add_task("reindex", total=None)

            def progress(stage: str, read: int) -> None:
                bar.update(task, description=f"reindex: {stage}", completed=read)

            report = service.run(progress=progress)
    out.print(
        f"{report.build} now serves ({report.records} records; {report.embedded} embedded, "
        f"{report.caught_up} caught up, {report.removed} removed"
        f"{', an interrupted run finished' if report.resumed else ''}) in "
        f"{report.seconds:.1f} s; {report.previous} is kept until the next reindex. "
        "Running servers move to it within SIMATCH_INDEX_SWITCH_INTERVAL seconds "
        "(restart those configured with another model)."
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
