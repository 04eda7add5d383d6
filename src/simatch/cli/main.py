"""The ``simatch`` command: ingest, delete, match, demo, info (and serve, keys, eval)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simatch.cli.eval import register as register_quality_commands
from simatch.cli.render import print_report, print_result
from simatch.cli.server import register as register_server_commands
from simatch.domain.query import Query
from simatch.domain.records import KINDS
from simatch.errors import SimatchError
from simatch.ingest.readers import read_path
from simatch.ingest.report import IngestReport
from simatch.wiring import Container

app = typer.Typer(
    help="simatch: solutions, peers and funders for a described societal problem.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)
register_server_commands(app)  # serve, keys (simatch.cli.server)
register_quality_commands(app)  # eval, duplicates, gaps (simatch.cli.eval)


@contextmanager
def container() -> Iterator[Container]:
    try:
        box = Container()
    except SimatchError as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    try:
        yield box
    except SimatchError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        box.close()


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
    with container() as box:
        report = IngestReport()
        with _progress() as progress:
            task = progress.add_task("ingest", total=_count_lines(paths))
            for path in paths:
                rows = read_path(path)
                report.merge(box.ingestor.ingest(rows, lambda n: progress.advance(task, n)))
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
    with container() as box:
        keys = []
        for record_id in ids:
            keys.extend([record_id] if ":" in record_id else [f"{k}:{record_id}" for k in KINDS])
        removed = box.ingestor.delete(keys)
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
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=200)] = 5,
    language: Annotated[str | None, typer.Option(help="Answer language: fi, en or sv.")] = None,
    batch: Annotated[
        Path | None, typer.Option(help="One query per line (text or a JSON object); JSON out.")
    ] = None,
) -> None:
    """Find solutions, peers and funders for a described problem."""
    if (text is None) == (batch is None):
        err.print("Give either TEXT or --batch FILE.")
        raise typer.Exit(2)
    with container() as box:
        if batch is not None:
            for line in batch.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                spec = json.loads(line) if line.lstrip().startswith("{") else {"text": line}
                query = Query(
                    text=spec["text"],
                    language=spec.get("language", language),
                    regions=tuple(spec.get("regions", region or ())),
                    target_groups=tuple(spec.get("target_groups", target_group or ())),
                    limit=int(spec.get("limit", limit)),
                )
                sys.stdout.write(box.matcher.match(query).model_dump_json() + "\n")
            return
        assert text is not None
        result = box.matcher.match(
            Query(
                text=text,
                language=language,
                regions=tuple(region or ()),
                target_groups=tuple(target_group or ()),
                limit=limit,
            )
        )
        if as_json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        else:
            print_result(out, result)


@app.command()
def demo() -> None:
    """Load the bundled demo data (deadlines are set relative to today)."""
    from simatch.ingest.demo import demo_rows

    with container() as box:
        report = box.ingestor.ingest(demo_rows(box.settings.index.indexes_dir))
        print_report(out, report)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def info() -> None:
    """What the index holds and how it is configured."""
    from simatch.domain.ports import SearchFilter

    with container() as box:
        s = box.settings
        backend = f"qdrant server {s.index.qdrant_url}" if s.index.qdrant_url else "qdrant-edge"
        out.print(f"backend: {backend}")
        out.print(f"model:   {box.embedder.model_id} ({box.embedder.dim} d)")
        for kind in KINDS:
            out.print(f"{kind:11} {box.index.count(SearchFilter(kinds=(kind,)))}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
