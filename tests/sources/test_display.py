"""A continuous call and a synced call's provenance as the CLI and the chat show them."""

from __future__ import annotations

from datetime import date
from io import StringIO

from rich.console import Console

from simatch.chat.catalogue import Catalogue
from simatch.chat.render import detail_line
from simatch.cli.render import print_result
from simatch.domain.results import MatchItem, MatchResult, Provenance, QueryInfo, Why

PORTAL = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
    "topic-details/X-1"
)


def item(**fields: object) -> MatchItem:
    base: dict[str, object] = {
        "id": "ha-STEA-1-2026",
        "kind": "call",
        "title": "Jatkuva avustus",
        "score": 0.9,
        "funder": "STEA",
        "why": Why(passage="Avustus."),
    }
    return MatchItem.model_validate({**base, **fields})


def test_the_chat_says_continuous_instead_of_days_left() -> None:
    catalogue = Catalogue.load()
    continuous = item(continuous=True)
    assert detail_line(
        continuous, "fi", catalogue
    ) == "STEA · Jatkuva haku (ei määräaikaa)".replace(
        "STEA", catalogue.text("fi", "call_by", funder="STEA")
    )
    assert "Continuous call" in (detail_line(continuous, "en", catalogue) or "")
    assert "Löpande ansökan" in (detail_line(continuous, "sv", catalogue) or "")
    dated = item(deadline=date(2027, 1, 31), days_to_deadline=62)
    assert "62" in (detail_line(dated, "en", catalogue) or "")


def test_the_cli_shows_continuous_and_where_a_call_came_from() -> None:
    synced = item(
        id="X-1",
        title="Social innovation call",
        deadline=date(2027, 1, 31),
        days_to_deadline=62,
        url="https://example.org/call",
        provenance=Provenance(source="eu-ft", source_id="X-1", url=PORTAL),
    )
    result = MatchResult(
        query=QueryInfo(language="en", detected="en"), funders=[item(continuous=True), synced]
    )
    buffer = StringIO()
    print_result(Console(file=buffer, width=300, no_color=True), result)
    shown = buffer.getvalue()
    assert "continuous (no deadline)" in shown
    assert "deadline 2027-01-31 (62 d)" in shown
    assert f"from eu-ft (X-1) {PORTAL}" in shown
