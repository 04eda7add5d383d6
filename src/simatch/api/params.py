"""Shared parameter types: ids, cursors, limits and kinds, each with the exact rule the server
enforces in its OpenAPI schema. A route that takes one of these gets a correct contract for
free; a new rule belongs here, not in a route.

Patterns avoid ``\\s`` and lookarounds: pydantic (Rust), JSON Schema clients (ECMA-262) and
Python read them alike only when whitespace is spelled out (``WHITESPACE``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

from simatch.domain.fields import PYTHON_WHITESPACE, RECORD_ID_PATTERN, check_record_id
from simatch.domain.keys import KEY_ID_PATTERN
from simatch.domain.records import Kind

# Not blank as Python's str.split() sees it (the Matcher's and the key store's cleaning).
NOT_BLANK_TEXT = rf"[^{PYTHON_WHITESPACE}]"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
SEQUENCE_PATTERN = r"^[0-9]{1,18}$"


def json_integer(value: object) -> object:
    """For a ``field_validator(mode="before")`` on a JSON body's integers: refuse what lax
    pydantic turns into an int but JSON Schema's ``integer`` is not (true, "5"); 2.0 stays."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


KindPath = Annotated[Kind, Path(description="The record's kind.")]
RecordIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        description="The record's id from its source: no whitespace or `/`, not `.` or `..`.",
        examples=["inn-fi-001"],
        json_schema_extra={"pattern": RECORD_ID_PATTERN},
    ),
    AfterValidator(check_record_id),
]
KeyIdPath = Annotated[
    str,
    Path(pattern=KEY_ID_PATTERN, description="The key's id, as `GET /v1/keys` lists it."),
]
RecordCursor = Annotated[
    str | None,
    Query(
        pattern=UUID_PATTERN,
        description="The `next_cursor` of the previous page (opaque; absent for the first).",
    ),
]
SequenceCursor = Annotated[
    str | None,
    Query(
        pattern=SEQUENCE_PATTERN,
        description="The `next_cursor` of the previous page (opaque; absent for the first).",
    ),
]
PageLimit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]

# RFC 3339, as JSON Schema's date-time: lax pydantic would also take "0.5" (a timestamp).
MOMENT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_MOMENT = re.compile(MOMENT_PATTERN)


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _MOMENT.match(value):
        raise ValueError("a moment is written as RFC 3339, e.g. 2027-03-31T12:00:00Z")
    return value


Moment = Annotated[
    datetime | None,
    Query(description="RFC 3339, with a time zone.", json_schema_extra={"pattern": MOMENT_PATTERN}),
    BeforeValidator(_rfc3339),
]
