"""The field types of the import format, and the patterns the API schema shares with them.

A record is read from JSON lines, CSV cells and API bodies alike, so the types are lenient
in a few stated ways (a CSV cell ``"Uusimaa; Pirkanmaa"`` is a list, a blank optional field
is absent, naive date-times are UTC). Their JSON Schema says so for input
(``json_schema_input_type``) and gives the strict shape for output, so that the API's
contract is exact both ways.

The patterns are read by three regex engines that disagree on ``\\s``: pydantic's (Rust),
JSON Schema's (ECMA-262, for API clients and fuzzers) and Python's. So whitespace is spelled
out: ``WHITESPACE`` is Unicode's White_Space, what pydantic strips from strings;
``PYTHON_WHITESPACE`` adds \\x1c-\\x1f, which Python's ``str.split`` and ``str.strip`` also
remove.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

WHITESPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PYTHON_WHITESPACE = WHITESPACE + r"\x1c-\x1f"
_ID_CHAR = rf"[^{WHITESPACE}/]"
# No whitespace or "/", and not "." or "..", which URLs resolve away (a record must have a URL).
RECORD_ID_PATTERN = (
    rf"^(?:[^{WHITESPACE}/.]{_ID_CHAR}*|\.[^{WHITESPACE}/.]{_ID_CHAR}*|\.\.{_ID_CHAR}+)$"
)
# A text that is not blank: what is left after stripping is never empty.
NOT_BLANK_PATTERN = rf"[^{WHITESPACE}]"
_RECORD_ID = re.compile(RECORD_ID_PATTERN)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

Language = Literal["fi", "en", "sv"]
# What a blank optional field may be sent as (it is stored as absent).
Blank = Annotated[str, Field(pattern=rf"^[{PYTHON_WHITESPACE}]*$")]


def check_record_id(value: str) -> str:
    """The id rule in words (a message naming a 300-character pattern helps nobody)."""
    if _RECORD_ID.fullmatch(value) is None:
        raise ValueError("an id may not contain whitespace or '/', nor be '.' or '..'")
    return value


def _split_list(value: Any) -> Any:
    """Accept a list, or a CSV cell like ``"Uusimaa; Pirkanmaa"``."""
    if value is None:
        return []
    if isinstance(value, str):
        sep = "|" if "|" in value else ";"
        return [part.strip() for part in value.split(sep) if part.strip()]
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _iso_date(value: Any) -> Any:
    """A date is an ISO string (or a date): a number is not taken for a timestamp."""
    value = _blank_to_none(value)
    if isinstance(value, int | float) or (
        isinstance(value, str) and not _ISO_DATE.match(value.strip())
    ):
        raise ValueError("a date is written as YYYY-MM-DD (ISO 8601)")
    return value


def _utc(value: date | datetime | None) -> date | datetime | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


RecordId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        # Surrounding whitespace is stripped before the check, so a body may carry it.
        json_schema_extra={
            "pattern": rf"^[{WHITESPACE}]*{RECORD_ID_PATTERN[1:-1]}[{WHITESPACE}]*$"
        },
    ),
    AfterValidator(check_record_id),
]
Title = Annotated[str, Field(min_length=1, max_length=500, pattern=NOT_BLANK_PATTERN)]
Text = Annotated[str, Field(min_length=1, pattern=NOT_BLANK_PATTERN)]
StrList = Annotated[
    list[str], BeforeValidator(_split_list, json_schema_input_type=list[str] | str | None)
]
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
Day = Annotated[date, BeforeValidator(_iso_date)]
OptDate = Annotated[
    date | None, BeforeValidator(_iso_date, json_schema_input_type=date | Blank | None)
]
OptDateTime = Annotated[
    date | datetime | None,
    BeforeValidator(_iso_date, json_schema_input_type=date | datetime | Blank | None),
    AfterValidator(_utc),
]
OptLanguage = Annotated[
    Language | None, BeforeValidator(_blank_to_none, json_schema_input_type=Language | Blank | None)
]
