from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from simatch.domain.records import Call, Innovation, parse_record


def test_innovation_with_csv_lists_and_extra_fields() -> None:
    record = parse_record(
        {
            "kind": "innovation",
            "id": "inn-1",
            "title": "Kylätalon nuorisotila",
            "summary": "Nuoret kokoontuvat viikoittain.",
            "regions": "Kainuu; Lappi",
            "themes": "yksinäisyys|nuoret",
            "source_system": "innokyla",
        }
    )
    assert isinstance(record, Innovation)
    assert record.regions == ["Kainuu", "Lappi"]
    assert record.themes == ["yksinäisyys", "nuoret"]
    assert record.model_dump()["source_system"] == "innokyla"
    assert record.key == "innovation:inn-1"


def test_call_needs_a_real_deadline() -> None:
    base = {"kind": "call", "id": "c", "title": "T", "description": "D", "funder": "STEA"}
    with pytest.raises(ValidationError) as info:
        parse_record({**base, "deadline": "31.12.2026"})
    assert info.value.errors()[0]["loc"][-1] == "deadline"
    call = parse_record({**base, "deadline": "2026-12-31"})
    assert isinstance(call, Call)
    assert call.days_to_deadline(date(2026, 12, 1)) == 30


def test_missing_title_and_wrong_type_name_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        parse_record({"kind": "need", "id": "n", "description": "x", "regions": 5})
    fields = {e["loc"][-1] for e in info.value.errors()}
    assert "title" in fields
    assert "regions" in fields


def test_search_text_puts_title_first_and_skips_repeats() -> None:
    record = parse_record(
        {"kind": "innovation", "id": "i", "title": "Same words", "summary": "Same words."}
    )
    assert record.search_text() == "Same words."


def test_content_hash_changes_with_any_field() -> None:
    a = parse_record({"kind": "actor", "id": "a", "name": "Org", "description": "Does x"})
    b = parse_record({"kind": "actor", "id": "a", "name": "Org", "description": "Does y"})
    assert a.content_hash() != b.content_hash()
    assert a.content_hash() == a.model_copy().content_hash()


def test_ids_with_spaces_or_slashes_are_refused() -> None:
    for bad in ("has space", "a/b", ""):
        with pytest.raises(ValidationError):
            parse_record({"kind": "actor", "id": bad, "name": "N", "description": "D"})
