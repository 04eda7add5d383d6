"""Follow-ups, help and questions told apart without a lemmatiser."""

from __future__ import annotations

import pytest

from simatch.chat.intents import Intent, expand_regions, find_regions, is_vague, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vain Pirkanmaa", Intent("followup", language="fi", regions=("Pirkanmaa",))),
        ("only Uusimaa", Intent("followup", language="en", regions=("Uusimaa",))),
        ("entä Uudellamaalla?", Intent("followup", language="fi", regions=("Uusimaa",))),
        ("what about Lapland?", Intent("followup", language="en", regions=("Lappi",))),
        ("bara Nyland", Intent("followup", language="sv", regions=("Uusimaa",))),
        ("more funders", Intent("followup", language="en", section="funders", more=True)),
        ("lisää rahoittajia", Intent("followup", language="fi", section="funders", more=True)),
        ("fler lösningar", Intent("followup", language="sv", section="solutions", more=True)),
        ("show more", Intent("followup", language="en", more=True)),
        ("näytä lisää", Intent("followup", language="fi", more=True)),
        ("in English", Intent("followup", set_language="en")),
        ("suomeksi kiitos", Intent("followup", language="fi", set_language="fi")),
        ("på svenska", Intent("followup", set_language="sv")),
        ("kaikki alueet", Intent("followup", language="fi", regions=())),
        ("all regions please", Intent("followup", language="en", regions=())),
        ("vain Etelä-Pohjanmaa ja Pohjois-Savo",
         Intent("followup", language="fi", regions=("Etelä-Pohjanmaa", "Pohjois-Savo"))),
    ],
)  # fmt: skip
def test_follow_ups(text: str, expected: Intent) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Rahoitusta nuorten mielenterveystyöhön Pirkanmaalla",
        "We need more volunteers for lonely elderly people in Uusimaa",
        "Ikäihmisten yksinäisyys haja-asutusalueella",
    ],
)
def test_questions_with_region_or_section_words_stay_questions(text: str) -> None:
    assert parse(text).kind == "question"


@pytest.mark.parametrize(
    ("text", "language"),
    [("help", "en"), ("apua", "fi"), ("Apua!", "fi"), ("hjälp", "sv"), ("?", "en")],
)
def test_help(text: str, language: str) -> None:
    assert parse(text) == Intent("help", language=language)


def test_cancel_only_while_consent_is_pending() -> None:
    assert parse("peruuta", pending_consent=True).kind == "cancel"
    assert parse("peruuta").kind == "question"
    assert parse("   ").kind == "empty"


def test_regions_match_inflected_forms_not_lookalikes() -> None:
    assert find_regions("Pirkanmaalla ja Lapissa")[0] == ["Pirkanmaa", "Lappi"]
    assert find_regions("Lapinlahden kunnassa")[0] == []
    assert find_regions("Keski-Pohjanmaalla")[0] == ["Keski-Pohjanmaa"]
    assert find_regions("vain Tampereella", extra=["Tampere"])[0] == ["Tampere"]
    assert find_regions("Helsingissä ja Länsi-Uudellamaalla")[0] == ["Länsi-Uusimaa", "Helsinki"]
    assert find_regions("only West Uusimaa")[0] == ["Länsi-Uusimaa"]
    assert find_regions("Vantaalla")[0] == ["Vantaa-Kerava"]


def test_uusimaa_covers_its_wellbeing_services_counties() -> None:
    assert expand_regions(["Uusimaa", "Lappi"]) == (
        "Uusimaa", "Helsinki", "Vantaa-Kerava", "Länsi-Uusimaa", "Itä-Uusimaa", "Keski-Uusimaa",
        "Lappi",
    )  # fmt: skip


def test_vague_means_few_content_words() -> None:
    assert is_vague("nuoret", "fi")
    assert is_vague("help with youth", "en")
    assert not is_vague("yksinäiset ikäihmiset maaseudulla", "fi")
