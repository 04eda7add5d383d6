"""Match items as the assistant shows them: the core's reason codes (``MatchItem.why``) as
one line in the user's language, deadlines, and the buttons under each item."""

from __future__ import annotations

from typing import Any

from simatch.chat.catalogue import Catalogue
from simatch.chat.replies import Button, ItemView, SectionView
from simatch.domain.results import MatchItem, Section

MAX_REASON = 160
MAX_TITLE = 60


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(",;:.-") + "…"


def _names(values: Any, limit: int = 3) -> str:
    items = [str(v) for v in (values or []) if str(v).strip()]
    return ", ".join(shorten(v, MAX_TITLE) for v in items[:limit])


def reason_line(item: MatchItem, language: str, catalogue: Catalogue) -> str:
    """The evidence worth one line: funding history, peer records, shared terms, fit."""
    t = catalogue.text
    codes: dict[str, dict[str, Any]] = {}
    for reason in item.why.reasons:
        codes.setdefault(reason.code, reason.params)
    parts: list[str] = []
    if "funded_similar" in codes:
        titles = codes["funded_similar"].get("titles") or [r.title for r in item.records]
        parts.append(t(language, "reason_funded_similar", titles=_names(titles, 2)))
    if "peer_records" in codes and item.records:
        parts.append(
            t(
                language,
                "reason_peer_records",
                count=codes["peer_records"].get("count", len(item.records)),
                titles=_names([r.title for r in item.records], 2),
            )
        )
    grouped = bool(parts)  # a peer or funder: its records say more than shared words
    if "terms" in codes and codes["terms"].get("terms") and not grouped:
        parts.append(t(language, "reason_terms", terms=_names(codes["terms"]["terms"], 4)))
    if "region" in codes:
        regions = [str(r) for r in codes["region"].get("regions", [])]
        if regions == ["national"]:
            parts.append(t(language, "reason_region_national"))
        elif regions:
            parts.append(t(language, "reason_region", regions=_names(regions)))
    if "target_group" in codes:
        groups = codes["target_group"].get("target_groups", [])
        parts.append(t(language, "reason_target_group", groups=_names(groups)))
    if "applicants" in codes:
        applicants = codes["applicants"].get("applicants", [])
        parts.append(t(language, "reason_applicants", applicants=_names(applicants)))
    if not parts and item.why.passage:
        passage = item.why.passage
        if passage.startswith(item.title) and len(passage) > len(item.title) + 10:
            passage = passage[len(item.title) :].lstrip(" .:-")
        passage = shorten(passage, MAX_REASON - 4)
        parts.append(t(language, "reason_passage", passage=passage))
    line = " · ".join(parts)
    if item.confidence == "weak":
        line = f"{line} {t(language, 'confidence_weak')}".strip()
    return _capitalise(shorten(line, MAX_REASON))


def detail_line(item: MatchItem, language: str, catalogue: Catalogue) -> str | None:
    """Calls: who funds and until when. None for other kinds."""
    parts: list[str] = []
    if item.kind == "call" and item.funder:
        parts.append(catalogue.text(language, "call_by", funder=item.funder))
    if item.continuous:
        parts.append(catalogue.text(language, "continuous"))
    elif item.deadline is not None:
        when = catalogue.format_date(language, item.deadline)
        days = item.days_to_deadline
        if days == 0:
            parts.append(catalogue.text(language, "deadline_today", date=when))
        elif days == 1:
            parts.append(catalogue.text(language, "deadline_one", date=when))
        else:
            parts.append(catalogue.text(language, "deadline", date=when, days=days))
    return " · ".join(parts) or None


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text and not text.startswith(("“", "”")) else text


def section_view(
    name: Section, language: str, items: list[MatchItem], match_id: str | None, cat: Catalogue
) -> SectionView:
    """One section of an answer: each item with its reason line and 👍 / 👎 buttons."""
    views = []
    for item in items:
        value = {"m": match_id or "", "i": item.id, "k": item.kind}
        views.append(
            ItemView(
                id=item.id,
                title=item.title,
                url=item.url,
                reason=reason_line(item, language, cat),
                detail=detail_line(item, language, cat),
                buttons=[
                    Button(
                        cat.text(language, "button_useful"), "feedback", {**value, "v": "useful"}
                    ),
                    Button(
                        cat.text(language, "button_not_useful"),
                        "feedback",
                        {**value, "v": "not_useful"},
                    ),
                ],
            )
        )
    return SectionView(
        key=name,
        heading=cat.text(language, f"section_{name}"),
        hint=cat.text(language, f"section_{name}_hint"),
        items=views,
        empty=cat.text(language, "section_empty"),
    )


def footer_buttons(query_key: str, language: str, cat: Catalogue) -> list[Button]:
    return [
        Button(cat.text(language, "button_more"), "more", {"q": query_key}, style="primary"),
        Button(cat.text(language, "button_save_need"), "save_need", {"q": query_key}),
    ]


def filter_notes(regions: tuple[str, ...], language: str, cat: Catalogue) -> list[str]:
    if not regions:
        return []
    return [cat.text(language, "filter_regions", regions=", ".join(regions))]
