"""The review queues: near-duplicates side by side, gaps grouped (to a need, handled, CSV),
👎 feedback with its context, and calls closing soon or closed. Each decision is a POST with
the session's CSRF token; it is remembered, so the item does not come back."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from simatch.api.deps import ReviewServiceDep
from simatch.console.forms import field_errors, fields_of, form_values, posted_values, record_data
from simatch.console.routes.records import actor
from simatch.console.security import PREFIX, CheckedForm, SessionDep, harden
from simatch.console.web import render
from simatch.domain.sessions import ConsoleSession
from simatch.errors import Conflict, InvalidInput, NotFound

router = APIRouter(prefix=f"{PREFIX}/review", include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]


def _back(path: str, done: str) -> Response:
    return harden(RedirectResponse(f"{PREFIX}/review/{path}?done={done}", status_code=303))


@router.get("/duplicates")
def duplicates(request: Request, session: SessionDep, reviews: ReviewServiceDep) -> Response:
    return render(request, "review_duplicates.html", session, section="review",
                  pairs=reviews.pairs())  # fmt: skip


@router.post("/duplicates")
def decide_pair(
    session: SessionDep,
    _form: CheckedForm,
    reviews: ReviewServiceDep,
    a: Text,
    b: Text,
    decision: Text,
    delete: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    reviews.decide_pair(a, b, decision, actor(session), delete)
    return _back("duplicates", decision)


@router.get("/gaps")
def gaps(request: Request, session: SessionDep, reviews: ReviewServiceDep) -> Response:
    return render(request, "review_gaps.html", session, section="review",
                  groups=reviews.gap_groups())  # fmt: skip


@router.get("/gaps.csv")
def gaps_csv(_session: SessionDep, reviews: ReviewServiceDep) -> Response:
    """One row per open question, with its group (a spreadsheet sorts and counts them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "group_size", "id", "asked_at", "language", "source", "regions",
                     "question"])  # fmt: skip
    for n, group in enumerate(reviews.gap_groups(), start=1):
        for gap in group.gaps:
            asked = gap.created_at.isoformat()
            regions = "; ".join(gap.regions)
            writer.writerow(
                [n, len(group.gaps), gap.id, asked, gap.language, gap.platform, regions, gap.text]
            )
    headers = {"Content-Disposition": 'attachment; filename="simatch-gaps.csv"'}
    return harden(Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers))


@router.post("/gaps/handled")
def gaps_handled(session: SessionDep, form: CheckedForm, reviews: ReviewServiceDep) -> Response:
    reviews.handle_gaps(_ids(form.getlist("gap")), actor(session))
    return _back("gaps", "handled")


@router.get("/gaps/{gap_id}/need")
def gap_need_form(
    request: Request, gap_id: int, session: SessionDep, reviews: ReviewServiceDep
) -> Response:
    try:
        group = reviews.gap_group(gap_id)
    except NotFound:
        return render(request, "error.html", session, 404, message="console_error_not_found")
    values = form_values(
        {"title": _title(group.text), "description": group.text,
         "language": group.languages[0] if len(group.languages) == 1 else None,
         "regions": group.regions},
        "need",
    )  # fmt: skip
    return _need_form(request, session, group.ids, values, {}, f"need-gap-{gap_id}")


@router.post("/gaps/{gap_id}/need")
def gap_to_need(
    request: Request, gap_id: int, session: SessionDep, form: CheckedForm,
    reviews: ReviewServiceDep,
) -> Response:  # fmt: skip
    ids = _ids(form.getlist("gap")) or [gap_id]
    record_id = str(form.get("id") or "").strip()
    values = posted_values(form, "need")
    try:
        if not record_id:
            raise InvalidInput("id", [{"field": "id", "message": "Field required"}])
        reviews.gap_to_need(ids, record_id, record_data(values, "need", None), actor(session))
    except InvalidInput as exc:
        return _need_form(request, session, ids, values, field_errors(exc.details), record_id)
    except Conflict as exc:
        errors = {"id": exc.message}
        return _need_form(request, session, ids, values, errors, record_id)
    return harden(RedirectResponse(f"{PREFIX}/records/need/{record_id}?saved=1", 303))


@router.get("/feedback")
def feedback(request: Request, session: SessionDep, reviews: ReviewServiceDep) -> Response:
    return render(request, "review_feedback.html", session, section="review",
                  views=reviews.thumbs_down())  # fmt: skip


@router.post("/feedback")
def feedback_handled(session: SessionDep, form: CheckedForm, reviews: ReviewServiceDep) -> Response:
    reviews.handle_feedback(_ids(form.getlist("feedback")), actor(session))
    return _back("feedback", "handled")


@router.get("/calls")
def calls(request: Request, session: SessionDep, reviews: ReviewServiceDep) -> Response:
    closing, closed = reviews.calls(closed=False), reviews.calls(closed=True)
    return render(request, "review_calls.html", session, section="review", closing=closing,
                  closed=closed)  # fmt: skip


def _ids(values: Sequence[object]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.isdigit() and len(v) < 18]


def _title(text: str) -> str:
    return text if len(text) <= 120 else text[:119].rsplit(" ", 1)[0] + "…"


def _need_form(
    request: Request,
    session: ConsoleSession,
    ids: list[int],
    values: dict[str, str],
    errors: dict[str, str],
    record_id: str,
) -> Response:
    return render(
        request, "review_need.html", session, 422 if errors else 200,
        section="review", gap_ids=ids, fields=fields_of("need"), values=values, errors=errors,
        record_id=record_id, kind="need",
    )  # fmt: skip
