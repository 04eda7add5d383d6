"""`simatch duplicates` and `simatch gaps`: the lists staff curate from."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from simatch.cli.terminal import err, opened, out


def duplicates_command(
    min_score: Annotated[
        float | None,
        typer.Option(help="Default: the calibrated duplicate threshold of the model."),
    ] = None,
    rescan: Annotated[
        bool, typer.Option(help="Check every indexed record again (after a threshold change).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List record pairs flagged as near-duplicates (never merged: staff decide)."""
    with opened() as box:
        service = box.duplicate_service
        threshold = min_score if min_score is not None else service.threshold
        if threshold is None:
            err.print("no duplicate threshold: run `simatch eval --calibrate` or give --min-score")
            raise typer.Exit(2)
        pairs = service.pairs(threshold, rescan)
        if as_json:
            rows = [{"a": p.a, "b": p.b, "score": p.score} for p in pairs]
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        for p in pairs:
            out.print(f"{p.score:.3f}  {p.a}  ~  {p.b}")
        out.print(f"{len(pairs)} pair(s) at or above {threshold:.3f}")


def gaps_command(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Questions that found no good match (newest first), for staff."""
    with opened() as box:
        gaps = box.gap_service.list(limit)
    if as_json:
        rows = [
            {
                "created_at": g.created_at.isoformat(),
                "platform": g.platform,
                "language": g.language,
                "text": g.text,
                "regions": list(g.regions),
            }
            for g in gaps
        ]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    for g in gaps:
        regions = f" [{', '.join(g.regions)}]" if g.regions else ""
        out.print(f"{g.created_at:%Y-%m-%d %H:%M} {g.platform:6} {g.language} {g.text}{regions}")


def register(app: typer.Typer) -> None:
    app.command("duplicates")(duplicates_command)
    app.command("gaps")(gaps_command)
