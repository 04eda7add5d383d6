"""Records: the list with search and filters, one record with its provenance and where it was
shown, and create, edit and delete (with a confirmation)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from simatch.api.deps import (
    AuditServiceDep,
    FeedbackServiceDep,
    RecordSearchDep,
    RecordServiceDep,
)
from simatch.console.forms import field_errors, fields_of, form_values, posted_values, record_data
from simatch.console.security import PREFIX, CheckedForm, SessionDep, harden
from simatch.console.web import render
from simatch.domain.audit import Actor
from simatch.domain.records import KINDS
from simatch.domain.sessions import ConsoleSession
from simatch.errors import Conflict, InvalidInput, NotFound
from simatch.services.record_search import CallState, RecordCriteria

router = APIRouter(prefix=f"{PREFIX}/records", include_in_schema=False)
PAGE_SIZE = 25
Short = Annotated[str | None, Query(max_length=200)]


def actor(session: ConsoleSession) -> Actor:
    return Actor(name=session.key_name, via="console", key_id=session.key_id)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no kind {kind!r}")
    return kind


def not_found(request: Request, session: ConsoleSession) -> Response:
    return render(request, "error.html", session, 404, message="console_error_not_found")


@router.get("")
def list_records(
    request: Request,
    session: SessionDep,
    search: RecordSearchDep,
    q: Short = None,
    kind: Short = None,
    language: Short = None,
    region: Short = None,
    source: Short = None,
    calls: Short = None,
    page: Short = None,
) -> Response:
    criteria = RecordCriteria(
        q=q,
        kind=kind if kind in KINDS else None,
        language=language if language in ("fi", "en", "sv") else None,
        region=region,
        source=source,
        calls=cast(CallState, calls) if calls in ("open", "closed") else None,
    )
    try:
        hits = search.find(criteria, page, PAGE_SIZE)
    except InvalidInput:
        hits = search.find(criteria, None, PAGE_SIZE)
    filters = {"q": q, "kind": criteria.kind, "language": criteria.language, "region": region,
               "source": source, "calls": criteria.calls}  # fmt: skip
    template = (
        "records_table.html" if request.headers.get("hx-target") == "results" else ("records.html")
    )
    return render(
        request, template, session, section="records", hits=hits, filters=filters,
        kinds=KINDS, first=not page,
    )  # fmt: skip


@router.get("/new")
def new_record_form(request: Request, session: SessionDep, kind: str = "innovation") -> Response:
    kind = kind if kind in KINDS else "innovation"
    return _form(request, session, kind, None, form_values(None, kind), {}, "")


@router.post("/new")
def create_record(
    request: Request, session: SessionDep, form: CheckedForm, records: RecordServiceDep
) -> Response:
    kind = str(form.get("kind") or "")
    if kind not in KINDS:
        return not_found(request, session)
    record_id = str(form.get("id") or "").strip()
    values = posted_values(form, kind)
    try:
        if not record_id:
            raise InvalidInput("id", [{"field": "id", "message": "Field required"}])
        records.create(kind, record_id, record_data(values, kind, None), actor(session))
    except (InvalidInput, Conflict) as exc:
        errors = field_errors(exc.details if isinstance(exc, InvalidInput) else [
            {"field": "id", "message": exc.message}])  # fmt: skip
        return _form(request, session, kind, None, values, errors, record_id, status=422)
    return _saved(kind, record_id)


@router.get("/{kind}/{record_id}")
def show_record(
    request: Request,
    kind: str,
    record_id: str,
    session: SessionDep,
    records: RecordServiceDep,
    audit: AuditServiceDep,
    feedback: FeedbackServiceDep,
) -> Response:
    try:
        record = records.get(_kind(kind), record_id)
    except NotFound:
        return not_found(request, session)
    shown = [
        {"match": m, "place": [i for k, i in m.items if k == kind].index(record_id) + 1}
        for m in feedback.shown(kind, record_id, 10)
    ]
    votes = [e for e in feedback.list(limit=20, item_id=record_id).items if e.item_kind == kind]
    return render(
        request, "record.html", session, section="records", kind=kind, record=record,
        fields=_display_fields(kind, record), history=audit.history(f"{kind}:{record_id}"),
        shown=shown, votes=votes, saved=request.query_params.get("saved") == "1",
    )  # fmt: skip


@router.get("/{kind}/{record_id}/edit")
def edit_record_form(
    request: Request, kind: str, record_id: str, session: SessionDep, records: RecordServiceDep
) -> Response:
    try:
        record = records.get(_kind(kind), record_id)
    except NotFound:
        return not_found(request, session)
    return _form(request, session, kind, record, form_values(record, kind), {}, record_id)


@router.post("/{kind}/{record_id}/edit")
def edit_record(
    request: Request,
    kind: str,
    record_id: str,
    session: SessionDep,
    form: CheckedForm,
    records: RecordServiceDep,
) -> Response:
    try:
        stored = records.get(_kind(kind), record_id)
    except NotFound:
        return not_found(request, session)
    values = posted_values(form, kind)
    try:
        records.put(kind, record_id, record_data(values, kind, stored), actor(session))
    except InvalidInput as exc:
        errors = field_errors(exc.details)
        return _form(request, session, kind, stored, values, errors, record_id, status=422)
    return _saved(kind, record_id)


@router.get("/{kind}/{record_id}/delete")
def delete_record_confirm(
    request: Request, kind: str, record_id: str, session: SessionDep, records: RecordServiceDep
) -> Response:
    try:
        record = records.get(_kind(kind), record_id)
    except NotFound:
        return not_found(request, session)
    return render(request, "record_delete.html", session, section="records", kind=kind,
                  record=record)  # fmt: skip


@router.post("/{kind}/{record_id}/delete")
def delete_record(
    request: Request,
    kind: str,
    record_id: str,
    session: SessionDep,
    _form: CheckedForm,
    records: RecordServiceDep,
) -> Response:
    try:
        records.delete(_kind(kind), record_id, actor(session))
    except NotFound:
        return not_found(request, session)
    return harden(RedirectResponse(f"{PREFIX}/records?deleted={kind}:{record_id}", 303))


def _saved(kind: str, record_id: str) -> Response:
    return harden(RedirectResponse(f"{PREFIX}/records/{kind}/{record_id}?saved=1", 303))


def _form(
    request: Request,
    session: ConsoleSession,
    kind: str,
    stored: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, str],
    record_id: str,
    status: int = 200,
) -> Response:
    return render(
        request, "record_form.html", session, status, section="records", kind=kind,
        kinds=KINDS, stored=stored, fields=fields_of(kind), values=values, errors=errors,
        record_id=record_id,
    )  # fmt: skip


def _display_fields(kind: str, record: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every field: the kind's own in order, then the rest (a source's provenance, extras)."""
    known = ["id", "kind", *(f.name for f in fields_of(kind))]
    rest = sorted(k for k in record if k not in known)
    return [(name, record.get(name)) for name in [*known, *rest]]
