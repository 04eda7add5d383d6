from __future__ import annotations

import pytest

from simatch.text.language import LanguageDetector, detect_language

FINNISH = [
    "miten voisimme auttaa nuoria",
    "hei",
    "kiitos",
    "yksinäisyys",
    "tarvitsen rahoitusta",
    "Nuorten yksinäisyys ja syrjäytyminen pienellä paikkakunnalla",
    "omaishoitajat",
    "mitä löytyy",
    "huostaanotto",
]
ENGLISH = [
    "how can we help",
    "loneliness",
    "thanks",
    "help",
    "I need funding",
    "support for lonely elderly",
    "funding for youth work",
    "peer support",
]
SWEDISH = [
    "hur kan vi hjälpa unga",
    "tack",
    "hej",
    "ensamhet bland äldre",
    "jag behöver finansiering",
    "stöd för ensamma äldre",
    "äldre",
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize("text", FINNISH)
def test_finnish(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == "fi"


@pytest.mark.parametrize("text", ENGLISH)
def test_english(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == "en"


@pytest.mark.parametrize("text", SWEDISH)
def test_swedish(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == "sv"


@pytest.mark.parametrize("text", ["", "   ", "123 456", "?!", "ok", "Tom"])
def test_empty_or_inconclusive_falls_back_to_default(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == "fi"
    assert detector.detect(text, default="en") == "en"
    assert detect_language(text, default="sv") == "sv"


def test_default_is_configurable() -> None:
    assert LanguageDetector(default="en").detect("") == "en"
    with pytest.raises(ValueError):
        LanguageDetector(default="de")


def test_model_is_built_lazily() -> None:
    detector = LanguageDetector()
    assert detector._identifier is None
    detector.detect("hello there")
    assert detector._identifier is not None
