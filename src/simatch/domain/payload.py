"""The payload stored with each point: the record itself plus what matching needs fast."""

from __future__ import annotations

from typing import Any

from simatch.domain.records import BaseRecord, Call

NATIONAL_REGIONS = ("valtakunnallinen", "koko suomi", "national", "nationwide", "hela finland")


def normalise_name(name: str) -> str:
    """Organisation and region names are compared case- and space-insensitively."""
    return " ".join(name.casefold().split())


def build_payload(
    record: BaseRecord,
    content_hash: str,
    passages: list[dict[str, Any]],
    terms: list[str],
) -> dict[str, Any]:
    org = record.organisation_name
    payload: dict[str, Any] = {
        "key": record.key,
        "kind": record.kind,
        "id": record.id,
        "language": record.language,
        "regions": [normalise_name(r) for r in record.regions],
        "target_groups": [normalise_name(t) for t in record.target_group_list],
        "organisation": normalise_name(org) if org else None,
        "content_hash": content_hash,
        "record": record.model_dump(mode="json"),
        "passages": passages,  # [{"text": str, "terms": [lemma, ...]}]
        "terms": terms,
    }
    if isinstance(record, Call):
        payload["deadline_day"] = record.deadline.toordinal()
    return payload
