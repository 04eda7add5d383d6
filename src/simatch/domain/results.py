"""What a match returns: the same object for the CLI (--json), the HTTP API and the chat."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

Section = Literal["solutions", "peers", "funders"]
SECTIONS: tuple[Section, ...] = ("solutions", "peers", "funders")
Confidence = Literal["strong", "possible", "weak"]


class Reason(BaseModel):
    """A machine-readable piece of evidence; chat and API render the same codes.

    Codes: ``passage`` (best-matching passage), ``terms`` (shared key terms), ``region``
    (serves a requested region), ``target_group``, ``deadline`` (days left), ``applicants``
    (who may apply), ``continuous`` (a call open until further notice), ``funded_similar``
    (funder of similar solutions), ``peer_records``.
    """

    code: str
    params: dict[str, Any] = Field(default_factory=dict)


class Why(BaseModel):
    passage: str = Field(description="The best-matching passage of the record, in its language.")
    passage_language: str | None = None
    terms: list[str] = Field(default_factory=list, description="Key terms shared with the query.")
    reasons: list[Reason] = Field(default_factory=list)


class Provenance(BaseModel):
    """Where a record came from, when a source (not a person) brought it in."""

    source: str = Field(description="The source's name, e.g. eu-ft or haeavustuksia.")
    source_id: str | None = Field(None, description="The item's id at the source.")
    url: str | None = Field(None, description="The item's page at the source.")
    fetched_at: str | None = Field(None, description="When this version was fetched (ISO).")


class RecordRef(BaseModel):
    id: str
    kind: str
    title: str
    score: float | None = None


# A record's kind, or a grouped item: an organisation (a peer without an actor record) or a
# funder (of similar innovations).
ItemKind = Literal["innovation", "need", "call", "actor", "organisation", "funder"]


class MatchItem(BaseModel):
    id: str
    kind: ItemKind
    title: str
    score: float = Field(
        description="Fused relevance in 0..1 (rank-based; compare within a result)."
    )
    confidence: Confidence = "possible"
    url: str | None = None
    language: str | None = None
    organisation: str | None = None
    regions: list[str] = Field(default_factory=list)
    why: Why
    # calls
    funder: str | None = None
    programme: str | None = None
    deadline: date | None = None
    days_to_deadline: int | None = None
    continuous: bool = Field(
        False, description="Open until further notice: no deadline or days left are shown."
    )
    provenance: Provenance | None = Field(
        None, description="Source and link, for records a source brought in."
    )
    # peers and funders: the records that make this a peer / a funder of similar work
    records: list[RecordRef] = Field(default_factory=list)


class QueryInfo(BaseModel):
    language: str = Field(description="Language used for the answer.")
    detected: str = Field(description="Language detected from the text.")
    regions: list[str] = Field(default_factory=list)
    target_groups: list[str] = Field(default_factory=list)


class MatchResult(BaseModel):
    query: QueryInfo
    solutions: list[MatchItem] = Field(default_factory=list)
    peers: list[MatchItem] = Field(default_factory=list)
    funders: list[MatchItem] = Field(default_factory=list)
    confidence: Confidence = Field(
        "weak", description="Best confidence of any item; 'weak' means no good match was found."
    )
    no_good_match: bool = False
    match_id: str | None = None

    def section(self, name: Section) -> list[MatchItem]:
        items: list[MatchItem] = getattr(self, name)
        return items
