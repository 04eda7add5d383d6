"""The payload stored with each point: the record itself plus what matching needs fast."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from simatch.domain.records import BaseRecord, Call

NATIONAL_REGIONS = ("valtakunnallinen", "koko suomi", "national", "nationwide", "hela finland")


def normalise_name(name: str) -> str:
    """Organisation and region names are compared case- and space-insensitively."""
    return " ".join(name.casefold().split())


def with_national(regions: Sequence[str]) -> tuple[str, ...]:
    """A region filter as the index compares it: normalised, plus the national records."""
    if not regions:
        return ()
    return tuple(dict.fromkeys([*(normalise_name(r) for r in regions), *NATIONAL_REGIONS]))


def record_title(record: dict[str, Any]) -> str:
    return str(record.get("title") or record.get("name") or record.get("id"))


def build_payload(
    record: BaseRecord,
    content_hash: str,
    passages: list[dict[str, Any]],
    terms: list[str],
) -> dict[str, Any]:
    org = record.organisation_name
    dumped = record.model_dump(mode="json")
    payload: dict[str, Any] = {
        "key": record.key,
        "kind": record.kind,
        "id": record.id,
        "language": record.language,
        "regions": [normalise_name(r) for r in record.regions],
        "target_groups": [normalise_name(t) for t in record.target_group_list],
        "organisation": normalise_name(org) if org else None,
        "content_hash": content_hash,
        # Copies that matching reads for every candidate (peer and funder grouping).
        "title": record_title(dumped),
        "funders": list(dumped.get("funders") or []),
        "record": dumped,
        "passages": passages,  # [{"text": str, "terms": [lemma, ...]}]
        "terms": terms,
    }
    if isinstance(record, Call):
        payload["deadline_day"] = record.deadline.toordinal()
    if record.withdrawn_at is not None:
        # When it was withdrawn; absent otherwise. Matches keep only points without it
        # (active_only; an "is empty" test, which both engines answer exactly).
        payload["withdrawn"] = dumped["withdrawn_at"]
    return payload


def minimal_payload(light: dict[str, Any]) -> dict[str, Any]:
    """A whole payload made from the search fields alone (for a record deleted since the
    search found it): enough to show the item, without passages."""
    record = {
        "kind": light.get("kind"),
        "id": light.get("id"),
        "title": light.get("title"),
        "language": light.get("language"),
    }
    if light.get("kind") == "call" and light.get("deadline_day") is not None:
        record["deadline"] = date.fromordinal(int(light["deadline_day"])).isoformat()
    return {**light, "record": record, "passages": []}
