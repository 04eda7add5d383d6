"""The dashboard: the review queues with their counts, and pictures of what the catalogue
holds and how it is used (each chart also as a table)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from simatch.api.deps import DashboardServiceDep, ReviewServiceDep
from simatch.console.charts import ALT, BAR, Series, bars, columns
from simatch.console.i18n import Texts, request_language
from simatch.console.security import PREFIX, SessionDep
from simatch.console.web import render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
DAYS = 30
THEMES = 8  # the largest gap groups shown


@router.get("")
def console_root() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=308)


@router.get("/")
def dashboard(
    request: Request,
    session: SessionDep,
    stats: DashboardServiceDep,
    reviews: ReviewServiceDep,
) -> Response:
    t = Texts(request_language(request))
    kinds = [(t(f"console_kind_{b.label}"), b.value) for b in stats.by_kind()]
    languages = [(t(f"console_lang_{b.label}"), b.value) for b in stats.by_language()]
    regions = [(b.label, b.value) for b in stats.by_region()]
    groups = reviews.gap_groups()
    themes = [(g.text, len(g.gaps)) for g in groups[:THEMES]]
    days = stats.days(DAYS)
    labels = [d.day for d in days]
    use = columns(
        t("console_chart_matches"),
        labels,
        [
            Series(t("console_good_match"), [max(d.matches - d.no_good, 0) for d in days], BAR),
            Series(t("console_no_good_match"), [min(d.no_good, d.matches) for d in days], ALT),
        ],
    )
    votes = columns(
        t("console_chart_feedback"),
        labels,
        [
            Series(t("console_useful"), [d.useful for d in days], BAR),
            Series(t("console_not_useful"), [d.not_useful for d in days], ALT),
        ],
    )
    charts = [
        ("kinds", t("console_chart_kinds"), bars(t("console_chart_kinds"), *_split(kinds)), kinds),
        ("languages", t("console_chart_languages"),
         bars(t("console_chart_languages"), *_split(languages)), languages),
        ("regions", t("console_chart_regions"), bars(t("console_chart_regions"), *_split(regions)),
         regions),
        ("themes", t("console_chart_themes"), bars(t("console_chart_themes"), *_split(themes)),
         themes),
    ]  # fmt: skip
    return render(
        request, "home.html", session, section="home", counts=reviews.counts(), charts=charts,
        use=use, votes=votes, days=days, total=sum(v for _, v in kinds),
    )  # fmt: skip


def _split(rows: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    return [label for label, _ in rows], [value for _, value in rows]
