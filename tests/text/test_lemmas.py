from __future__ import annotations

import pytest

from simatch.text.lemmas import (
    BaseLemmatizer,
    SimplemmaLemmatizer,
    VoikkoLemmatizer,
    make_lemmatizer,
    voikko_word_analysis,
)
from simatch.text.tokens import words
from tests.text.conftest import needs_voikko

# (inflected Finnish, expected lemma): social-sector vocabulary both lemmatizers get right
COMMON_FINNISH = [
    ("nuorten", "nuori"),
    ("yksinäisyyttä", "yksinäisyys"),
    ("syrjäytymisen", "syrjäytyminen"),
    ("omaishoitajille", "omaishoitaja"),
    ("lastensuojelun", "lastensuojelu"),
    ("paikkakunnalla", "paikkakunta"),
    ("päihteiden", "päihde"),
    ("vanhuksille", "vanhus"),
]


def test_tokenisation() -> None:
    assert words("EU:n rahoitus, covid-19 ja THL:ssä 2024!") == [
        "eu",
        "rahoitus",
        "covid",
        "ja",
        "thl",
    ]
    assert words("Evidence-based well-being") == ["evidence-based", "well-being"]
    assert words("") == []


@pytest.mark.parametrize(("word", "lemma"), COMMON_FINNISH)
def test_simplemma_finnish(
    simplemma_lemmatizer: SimplemmaLemmatizer, word: str, lemma: str
) -> None:
    assert simplemma_lemmatizer.lemmas(word, "fi") == [lemma]


def test_stop_words_and_short_tokens_dropped(simplemma_lemmatizer: SimplemmaLemmatizer) -> None:
    assert simplemma_lemmatizer.lemmas("Miten voisimme auttaa meidän nuoria? a 12", "fi") == [
        "auttaa",
        "nuori",
    ]
    assert simplemma_lemmatizer.lemmas("How could we help our children?", "en") == [
        "help",
        "child",
    ]
    assert simplemma_lemmatizer.lemmas("Hur kan vi hjälpa ensamma äldre?", "sv") == [
        "hjälpa",
        "ensam",
        "gammal",
    ]


def test_hyphenated_words_keep_parts(simplemma_lemmatizer: SimplemmaLemmatizer) -> None:
    assert simplemma_lemmatizer.lemmas("evidence-based", "en") == [
        "evidence-based",
        "evidence",
        "base",
    ]


@needs_voikko
@pytest.mark.parametrize(("word", "lemma"), COMMON_FINNISH)
def test_voikko_finnish(voikko_lemmatizer: VoikkoLemmatizer, word: str, lemma: str) -> None:
    assert voikko_lemmatizer.tokens(word, "fi")[0].lemma == lemma


@needs_voikko
@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("nuorisotyö", ["nuorisotyö", "nuoriso", "työ"]),
        ("rahoitushaun", ["rahoitushaku", "rahoitus", "haku"]),
        ("hyvinvointialueella", ["hyvinvointialue", "hyvinvointi", "alue"]),
        ("omaishoitajille", ["omaishoitaja", "omainen", "hoitaja"]),
        ("lastensuojelun", ["lastensuojelu", "lapsi", "suojelu"]),
        ("koulukiusaamista", ["koulukiusaaminen", "koulu", "kiusaaminen"]),
        ("EU-rahoituksen", ["eu-rahoitus", "eu", "rahoitus"]),
    ],
)
def test_voikko_compound_parts(
    voikko_lemmatizer: VoikkoLemmatizer, word: str, expected: list[str]
) -> None:
    assert voikko_lemmatizer.lemmas(word, "fi") == expected


@needs_voikko
def test_voikko_choices(voikko_lemmatizer: VoikkoLemmatizer) -> None:
    # -minen nouns stay nouns (Voikko's base form would be the verb syrjäytyä)
    assert voikko_lemmatizer.lemmas("kotoutumista työllistymiseen", "fi") == [
        "kotoutuminen",
        "työllistyminen",
    ]
    # the noun reading wins over a verb, which is kept as an alternative
    tuen = voikko_lemmatizer.tokens("tuen", "fi")[0]
    assert (tuen.lemma, tuen.alternatives) == ("tuki", ("tukea",))
    # a word already in base form keeps it ("kuusi", not "kuu")
    assert voikko_lemmatizer.tokens("kuusi", "fi")[0].lemma == "kuusi"
    # "vanhemmat" is parents, not the comparative of "vanha"
    assert voikko_lemmatizer.tokens("vanhempien", "fi")[0].lemma == "vanhempi"
    # "tekemässä" is the verb, not the agent participle "tekemä"
    assert voikko_lemmatizer.tokens("kehittämässä", "fi")[0].lemma == "kehittää"
    # a place name is not split into "valley" parts
    assert voikko_lemmatizer.lemmas("Kymenlaakson", "fi") == ["kymenlaakso"]
    # unknown words stay as written; English and Swedish go to simplemma
    assert voikko_lemmatizer.lemmas("chatbotti", "fi") == ["chatbotti"]
    assert voikko_lemmatizer.lemmas("children", "en") == ["child"]


@needs_voikko
def test_voikko_is_cached(voikko_lemmatizer: VoikkoLemmatizer) -> None:
    voikko_lemmatizer.lemmas("maahanmuuttajien kotoutuminen", "fi")
    before = voikko_lemmatizer.cache_info().hits
    voikko_lemmatizer.lemmas("maahanmuuttajien kotoutuminen", "fi")
    assert voikko_lemmatizer.cache_info().hits >= before + 2


def test_voikko_word_analysis_without_analyses() -> None:
    assert voikko_word_analysis([], "xyz") is None


def test_make_lemmatizer() -> None:
    assert isinstance(make_lemmatizer("simplemma"), SimplemmaLemmatizer)
    chosen = make_lemmatizer("auto")
    assert isinstance(chosen, BaseLemmatizer)
    assert chosen.name


def test_make_lemmatizer_falls_back_without_voikko(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_voikko(name: str, *args: object, **kwargs: object) -> object:
        if name == "libvoikko":
            raise ImportError("no libvoikko here")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_voikko)
    assert isinstance(make_lemmatizer("auto"), SimplemmaLemmatizer)
    with pytest.raises(ImportError):
        make_lemmatizer("voikko")
