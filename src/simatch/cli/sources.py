"""`simatch sources sync|status|profile`: bring funding calls in from external sources."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from simatch.cli.terminal import err, opened, out
from simatch.domain.sources import SyncRun
from simatch.errors import InvalidInput

sources_app = typer.Typer(
    help="External sources of funding calls: sync, status, withdrawn, profile.",
    no_args_is_help=True,
)


@sources_app.command("sync")
def sync_command(
    name: Annotated[str | None, typer.Argument(help="eu-ft or haeavustuksia.")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Every source, in turn.")] = False,
    max_withdraw: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="This sync may withdraw up to this share of a source's calls "
            "(default SIMATCH_SYNC_MAX_WITHDRAW).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per source.")] = False,
) -> None:
    """Fetch, import and withdraw (for cron); exit 1 if any source failed."""
    if bool(name) == all_sources:
        err.print("give one source NAME or --all")
        raise typer.Exit(2)
    with opened() as box:
        service = box.sync_service
        names = service.names if all_sources else [name or ""]
        for n in names:
            service.source(n)  # an unknown name fails before anything is fetched
        runs = []
        for n in names:
            if not as_json:
                err.print(f"syncing {n} ...")
            run = service.sync(n, max_withdraw=max_withdraw)
            runs.append(run)
            if as_json:
                sys.stdout.write(json.dumps(run.as_dict(), ensure_ascii=False) + "\n")
            else:
                _print_run(run)
    if any(r.status != "ok" for r in runs):
        raise typer.Exit(1)


@sources_app.command("status")
def status_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each source's last sync: when, its counts, how long it took and its error."""
    with opened() as box:
        statuses = box.sync_service.status()
    rows = [
        {
            "name": s.name,
            "title": s.title,
            "calls": s.items,
            "withdrawn": s.withdrawn,
            "profile_edited": s.profile_edited,
            "last_sync": s.last_run.as_dict() if s.last_run else None,
        }
        for s in statuses
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    for status in statuses:
        edited = ", profile edited" if status.profile_edited else ""
        out.print(
            f"[bold]{status.name}[/] ({status.title}): {status.items} calls, "
            f"{status.withdrawn} withdrawn{edited}"
        )
        if status.last_run is None:
            out.print("  never synced")
        else:
            _print_run(status.last_run)


@sources_app.command("withdrawn")
def withdrawn_command(
    name: Annotated[str | None, typer.Argument(help="One source; all if left out.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
) -> None:
    """Calls the sources no longer offer: kept for staff, never matched (newest first)."""
    with opened() as box:
        records = box.sync_service.withdrawn([name] if name else [])
    for record in records:
        if as_json:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.print(
                f"{record.get('withdrawn_at')}  {record.get('source')}  call:{record['id']}  "
                f"{record.get('title')}"
            )
    if not records and not as_json:
        out.print("no withdrawn calls")


@sources_app.command("profile")
def profile_command(
    name: Annotated[str, typer.Argument(help="eu-ft or haeavustuksia.")],
    set_from: Annotated[
        Path | None,
        typer.Option("--set", help="A JSON file with the new profile ('-' reads stdin)."),
    ] = None,
    reset: Annotated[bool, typer.Option(help="Back to the default profile.")] = False,
) -> None:
    """Show which calls a source takes, or change it (staff)."""
    with opened() as box:
        service = box.sync_service
        if reset:
            profile = service.set_profile(name, None)
        elif set_from is not None:
            profile = service.set_profile(name, _read_json(set_from))
        else:
            profile = service.profile(name)
    sys.stdout.write(json.dumps(profile, indent=2, ensure_ascii=False) + "\n")


def _read_json(path: Path) -> Any:
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{path}: not JSON: {exc}") from exc


def _print_run(run: SyncRun) -> None:
    c = run.counts
    seconds = f" in {run.seconds:.1f} s" if run.seconds is not None else ""
    colour = {"ok": "green", "running": "yellow"}.get(run.status, "red")
    out.print(
        f"  {run.source} [{colour}]{run.status}[/] "
        f"{run.started_at.isoformat(timespec='seconds')}{seconds}: "
        f"added {c.added}, updated {c.updated}, unchanged {c.unchanged}, "
        f"withdrawn {c.withdrawn}, rejected {c.rejected}, closed skipped {c.skipped}, "
        f"duplicates {c.duplicates}, embedded {c.embedded}"
    )
    for rejection in run.rejections[:20]:
        field = f" {rejection['field']}:" if rejection.get("field") else ""
        out.print(f"    rejected {rejection['id']}:{field} {rejection['reason']}")
    if len(run.rejections) > 20:
        out.print(f"    ... and {c.rejected - 20} more")
    if run.error:
        out.print(f"  [red]error:[/] {run.error}")


def register(app: typer.Typer) -> None:
    app.add_typer(sources_app, name="sources")
