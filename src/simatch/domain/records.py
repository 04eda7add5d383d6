"""The public import format: innovations, needs, funding calls and actors.

One record per JSON line or CSV row. Unknown fields are kept (``extra="allow"``) so that a
source's own data survives a round trip. In CSV, list fields are separated by ``;`` or ``|``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from simatch.domain.fields import (
    Day,
    OptDate,
    OptDateTime,
    OptLanguage,
    OptStr,
    RecordId,
    StrList,
    Text,
    Title,
)

Kind = Literal["innovation", "need", "call", "actor"]
KINDS: tuple[Kind, ...] = ("innovation", "need", "call", "actor")


def _kind_is_required(schema: dict[str, Any]) -> None:
    """Each kind's model has its kind as default, for code; a record sent in must name it."""
    schema["required"] = ["kind", *(f for f in schema.get("required", []) if f != "kind")]


class BaseRecord(BaseModel):
    model_config = ConfigDict(
        extra="allow", str_strip_whitespace=True, json_schema_extra=_kind_is_required
    )

    kind: Kind
    id: RecordId
    language: OptLanguage = None
    regions: StrList = Field(default_factory=list)
    url: OptStr = None
    # Provenance of a record that a source (simatch.sources) brought in; absent for records
    # typed or imported by hand. ``checksum`` is the source's own (or a hash of its item).
    source: OptStr = None
    source_id: OptStr = None
    source_url: OptStr = None
    fetched_at: OptDateTime = None
    checksum: OptStr = None
    # Set when the source no longer offers the record: it stays for staff, out of matches.
    withdrawn_at: OptDateTime = None

    # Fields that make up the text that is embedded and searched, in order of weight.
    text_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def key(self) -> str:
        """Unique across kinds: ids come from different sources."""
        return f"{self.kind}:{self.id}"

    @property
    def display_title(self) -> str:
        return str(getattr(self, "title", None) or getattr(self, "name", "") or self.id)

    @property
    def organisation_name(self) -> str | None:
        """The organisation that makes this record a peer, if any."""
        return getattr(self, "organisation", None)

    @property
    def target_group_list(self) -> list[str]:
        return list(getattr(self, "target_groups", []) or [])

    def search_parts(self) -> list[tuple[str, bool]]:
        """(text, is_prose) per text field, title first; keyword lists are not prose."""
        parts: list[tuple[str, bool]] = []
        for name in self.text_fields:
            value = getattr(self, name, None)
            prose = not isinstance(value, list)
            if isinstance(value, list):
                value = ", ".join(value)
            if value:
                text = str(value).strip()
                text = text if text.endswith((".", "!", "?")) else text + "."
                if all(text != seen for seen, _ in parts):  # a summary repeating the title
                    parts.append((text, prose))
        return parts

    def search_text(self) -> str:
        """The text that is embedded: title first, then the descriptive fields."""
        return " ".join(text for text, _ in self.search_parts())

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def content_hash(self) -> str:
        """Changes when anything stored about the record changes, except when it was fetched
        (a re-fetched unchanged call is unchanged)."""
        blob = json.dumps(
            self.model_dump(mode="json", exclude={"fetched_at"}), sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class Innovation(BaseRecord):
    kind: Literal["innovation"] = "innovation"
    title: Title
    summary: Text
    description: OptStr = None
    organisation: OptStr = None
    target_groups: StrList = Field(default_factory=list)
    themes: StrList = Field(default_factory=list)
    funders: StrList = Field(default_factory=list)
    stage: OptStr = None
    updated_at: OptDateTime = None

    text_fields: ClassVar[tuple[str, ...]] = ("title", "summary", "description", "themes")


class Need(BaseRecord):
    kind: Literal["need"] = "need"
    title: Title
    description: Text
    organisation: OptStr = None
    target_groups: StrList = Field(default_factory=list)
    contact: OptStr = None
    created_at: OptDateTime = None

    text_fields: ClassVar[tuple[str, ...]] = ("title", "description")


class Call(BaseRecord):
    kind: Literal["call"] = "call"
    title: Title
    description: Text
    funder: Text
    programme: OptStr = None
    opens_at: OptDate = None
    deadline: Day
    eligible_applicants: StrList = Field(default_factory=list)
    budget: OptStr = None
    themes: StrList = Field(default_factory=list)
    # Open until further notice: ``deadline`` is then only the source's far-off end date and
    # is shown as "continuous", not as days left.
    continuous: bool = False

    text_fields: ClassVar[tuple[str, ...]] = ("title", "description", "programme", "themes")

    def days_to_deadline(self, today: date) -> int:
        return (self.deadline - today).days


class Actor(BaseRecord):
    kind: Literal["actor"] = "actor"
    name: Title
    description: Text

    text_fields: ClassVar[tuple[str, ...]] = ("name", "description")

    @property
    def organisation_name(self) -> str | None:
        return self.name


AnyRecord = Annotated[Innovation | Need | Call | Actor, Field(discriminator="kind")]
_record_adapter: TypeAdapter[Innovation | Need | Call | Actor] = TypeAdapter(AnyRecord)


def parse_record(data: dict[str, Any]) -> Innovation | Need | Call | Actor:
    """Validate one raw record; raises ``pydantic.ValidationError`` naming the field."""
    return _record_adapter.validate_python(data)


def record_from_payload(payload: dict[str, Any]) -> Innovation | Need | Call | Actor:
    """Rebuild a record from what the index stored (already validated once)."""
    return _record_adapter.validate_python(payload["record"])
