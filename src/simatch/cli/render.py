"""Human-readable output of match results and import reports for the terminal."""

from __future__ import annotations

from rich.console import Console

from simatch.domain.results import MatchItem, MatchResult
from simatch.ingest.report import IngestReport

_HEADINGS = {
    "fi": {"solutions": "Ratkaisut", "peers": "Kumppanit", "funders": "Rahoittajat"},
    "en": {"solutions": "Solutions", "peers": "Peers", "funders": "Funders"},
    "sv": {"solutions": "Lösningar", "peers": "Kollegor", "funders": "Finansiärer"},
}


def print_result(console: Console, result: MatchResult) -> None:
    lang = result.query.language if result.query.language in _HEADINGS else "en"
    if result.no_good_match:
        console.print("[yellow]No strong match found; the results below are weak.[/]")
    for section in ("solutions", "peers", "funders"):
        items = result.section(section)  # type: ignore[arg-type]
        console.print(f"\n[bold]{_HEADINGS[lang][section]}[/] ({len(items)})")
        for number, item in enumerate(items, start=1):
            _print_item(console, number, item)


def _print_item(console: Console, number: int, item: MatchItem) -> None:
    extra = ""
    if item.continuous:
        extra = "  continuous (no deadline)"
    elif item.deadline is not None:
        extra = f"  deadline {item.deadline.isoformat()} ({item.days_to_deadline} d)"
    console.print(
        f" {number}. [bold]{item.title}[/] [dim]{item.kind}:{item.id} "
        f"score {item.score:.3f} {item.confidence}[/]{extra}"
    )
    if item.why.passage:
        console.print(f"    [italic]{item.why.passage}[/]", highlight=False)
    if item.why.terms:
        console.print(f"    [dim]terms: {', '.join(item.why.terms)}[/]")
    if item.records:
        refs = "; ".join(r.title for r in item.records[:3])
        console.print(f"    [dim]records: {refs}[/]")
    if item.url:
        console.print(f"    {item.url}", highlight=False)
    if item.provenance is not None:
        origin = item.provenance
        link = f" {origin.url}" if origin.url and origin.url != item.url else ""
        where = f"    [dim]from {origin.source} ({origin.source_id}){link}[/]"
        console.print(where, highlight=False)


def print_report(console: Console, report: IngestReport) -> None:
    rejected_rows = len({(r.source, r.line) for r in report.rejected})
    console.print(
        f"read {report.read}, added {report.added}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected rows {rejected_rows}, "
        f"embedded {report.embedded}, {report.seconds:.1f} s"
    )
    for rej in report.rejected:
        where = f"{rej.source}:{rej.line}"
        field = f" field '{rej.field}'" if rej.field else ""
        console.print(f"[red]rejected[/] {where}{field}: {rej.reason}", highlight=False)
    for dup in report.duplicates:
        console.print(
            f"[yellow]possible duplicate[/] {dup.key} ~ {dup.other} (score {dup.score:.3f})"
        )
