"""What an alert says, in the subscriber's language, before any channel's formatting: a
subject, an intro naming the need, each item with the reason and (calls) funder and
deadline as the chat shows them, and the way to stop. Texts come from the one message
catalogue (``simatch.chat.catalogue``); senders turn this into an e-mail, Block Kit or an
Adaptive Card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from simatch.chat.catalogue import Catalogue
from simatch.chat.render import detail_line, reason_line, shorten
from simatch.chat.replies import Button, ItemView, Reply, SectionView
from simatch.domain.alerts import AlertItem, Delivery, Subscription
from simatch.domain.results import MatchItem


@dataclass(frozen=True)
class RenderedItem:
    key: str  # "kind:id" of the record
    section_key: str  # solutions, peers, funders
    title: str
    url: str | None
    section: str  # heading: Solutions, Peers, Funders
    reason: str
    detail: str | None


@dataclass(frozen=True)
class AlertMessage:
    language: str
    subject: str
    intro: str  # light markup (*bold*)
    items: list[RenderedItem]
    footer: str
    stop_label: str
    unsubscribe_url: str


def render(
    subscription: Subscription,
    delivery: Delivery,
    unsubscribe_url: str,
    catalogue: Catalogue,
    today: date,
) -> AlertMessage:
    lang = catalogue.language(subscription.language)
    need = shorten(str(subscription.target.get("need_title") or subscription.need_id), 80)
    items = [_item(i, lang, catalogue, today) for i in delivery.items]
    if delivery.kind == "reminder" and items:
        first = delivery.items[0]
        days = (date.fromisoformat(first.deadline) - today).days if first.deadline else 0
        subject = catalogue.text(lang, "alert_reminder_subject", days=days, title=items[0].title)
        intro = catalogue.text(lang, "alert_reminder_intro", need=need)
    else:
        if len(items) == 1:
            subject = catalogue.text(lang, "alert_subject", need=need, title=items[0].title)
        else:
            subject = catalogue.text(lang, "alert_subject_many", need=need, count=len(items))
        key = (
            f"alert_intro_{subscription.frequency}" if delivery.kind == "digest" else "alert_intro"
        )
        intro = catalogue.text(lang, key, need=need)
    return AlertMessage(
        language=lang,
        subject=shorten(subject, 150),
        intro=intro,
        items=items,
        footer=catalogue.text(lang, "alert_footer"),
        stop_label=catalogue.text(lang, "alert_stop"),
        unsubscribe_url=unsubscribe_url,
    )


def _item(item: AlertItem, lang: str, catalogue: Catalogue, today: date) -> RenderedItem:
    deadline = date.fromisoformat(item.deadline) if item.deadline else None
    view = MatchItem.model_validate(
        {
            "id": item.id,
            "kind": item.kind,
            "title": item.title,
            "score": item.score,
            "confidence": item.confidence,
            "url": item.url,
            "why": item.why or {"passage": ""},
            "funder": item.funder,
            "deadline": deadline,
            "days_to_deadline": (deadline - today).days if deadline else None,
        }
    )
    return RenderedItem(
        key=item.key,
        section_key=item.section,
        title=item.title,
        url=item.url,
        section=catalogue.text(lang, f"section_{item.section}"),
        reason=reason_line(view, lang, catalogue),
        detail=detail_line(view, lang, catalogue),
    )


def alert_reply(message: AlertMessage, subscription: Subscription, catalogue: Catalogue) -> Reply:
    """The alert as a chat reply (Block Kit and Adaptive Card renderers take it): items in
    their sections with 👍 / 👎, and a button that stops the alerts."""
    lang = message.language
    sections: dict[str, SectionView] = {}
    for item in message.items:
        view = sections.setdefault(
            item.section_key,
            SectionView(key=item.section_key, heading=item.section, hint=""),  # type: ignore[arg-type]
        )
        value = {"s": subscription.id, "r": item.key}
        view.items.append(
            ItemView(
                id=item.key,
                title=item.title,
                url=item.url,
                reason=item.reason,
                detail=item.detail,
                buttons=[
                    Button(
                        catalogue.text(lang, "alert_button_interested"), "alert_interested", value
                    ),
                    Button(
                        catalogue.text(lang, "alert_button_not_relevant"),
                        "alert_not_relevant",
                        value,
                    ),
                ],
            )
        )
    for view in sections.values():
        view.hint = catalogue.text(lang, f"section_{view.key}_hint")
    stop = Button(
        catalogue.text(lang, "alert_button_stop"), "alert_stop", {"s": subscription.id}, "danger"
    )
    return Reply(
        "answer",
        lang,
        message.intro,
        notes=[message.footer],
        sections=list(sections.values()),
        buttons=[stop],
    )
