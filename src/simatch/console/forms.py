"""The record form: which fields each kind has, how a stored record fills the form, and how a
posted form becomes the record data that ``RecordService`` validates exactly as an import
row (lists as ``a; b`` like a CSV cell, dates as ``YYYY-MM-DD``, a blank optional field is
absent). Fields the form does not show (a source's provenance, unknown fields) are kept."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from starlette.datastructures import FormData

from simatch.domain.records import Actor, BaseRecord, Call, Innovation, Need

Widget = Literal["text", "textarea", "list", "date", "language", "checkbox"]
_MODELS: dict[str, type[BaseRecord]] = {
    "innovation": Innovation,
    "need": Need,
    "call": Call,
    "actor": Actor,
}
_LONG = {"summary", "description"}
_HIDDEN = {"kind", "id"}
# Provenance a source sets (shown on the record's page, kept on edit, not edited by hand).
_PROVENANCE = {"source", "source_id", "source_url", "fetched_at", "checksum", "withdrawn_at"}


@dataclass(frozen=True)
class FormField:
    name: str
    widget: Widget
    required: bool


def _widget(name: str, annotation: Any) -> Widget:
    if name == "language":
        return "language"
    if name in _LONG:
        return "textarea"
    if annotation is bool:
        return "checkbox"
    text = str(annotation)
    if typing.get_origin(annotation) is list or "list[" in text:
        return "list"
    if "date" in text:
        return "date"
    return "text"


def fields_of(kind: str) -> list[FormField]:
    """In the model's order; required ones say so (the same rule as an import row)."""
    model = _MODELS[kind]
    return [
        FormField(name, _widget(name, info.annotation), info.is_required())
        for name, info in model.model_fields.items()
        if name not in _HIDDEN | _PROVENANCE
    ]


def form_values(record: dict[str, Any] | None, kind: str) -> dict[str, str]:
    """A stored record as the form shows it."""
    values: dict[str, str] = {}
    for field in fields_of(kind):
        value = (record or {}).get(field.name)
        if value is None or value is False:
            values[field.name] = ""
        elif value is True:
            values[field.name] = "true"
        elif isinstance(value, list):
            values[field.name] = "; ".join(str(v) for v in value)
        elif isinstance(value, date):
            values[field.name] = value.isoformat()
        else:
            values[field.name] = str(value)
    return values


def posted_values(form: FormData, kind: str) -> dict[str, str]:
    """A checkbox is sent only when ticked; unticked it is false, not absent."""
    return {
        f.name: ("true" if form.get(f.name) else "false")
        if f.widget == "checkbox"
        else str(form.get(f.name) or "")
        for f in fields_of(kind)
    }


def record_data(values: dict[str, str], kind: str, stored: dict[str, Any] | None) -> dict[str, Any]:
    """What to validate: the stored record (its other fields kept) with the form's values."""
    data = {k: v for k, v in (stored or {}).items() if k not in _HIDDEN}
    for field in fields_of(kind):
        data[field.name] = values.get(field.name, "")
    return data


def field_errors(details: Any) -> dict[str, str]:
    """``InvalidInput`` details (``[{field, message}]``) by the form field they belong to."""
    errors: dict[str, str] = {}
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict):
                name = str(item.get("field", "")).split(".")[0]
                errors.setdefault(name, str(item.get("message", "")))
    return errors
