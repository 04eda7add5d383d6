"""Fixtures for the text toolbox: lemmatizers and the analyzer, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from simatch.text.analyzer import LexicalAnalyzer, build_analyzer
from simatch.text.lemmas import SimplemmaLemmatizer, VoikkoLemmatizer, voikko_available

DICT_DIR = Path("/usr/share/dictd")
FREEDICT_FILES = [
    DICT_DIR / f"freedict-{pair}.{ext}"
    for pair in ("fin-eng", "eng-fin")
    for ext in ("index", "dict.dz")
]
HAVE_FREEDICT = all(path.is_file() for path in FREEDICT_FILES)
HAVE_VOIKKO = voikko_available()

needs_voikko = pytest.mark.skipif(
    not HAVE_VOIKKO,
    reason="libvoikko is not importable or its Finnish dictionary does not load "
    "(apt-get install libvoikko1 voikko-fi; pip install libvoikko==4.3)",
)
needs_freedict = pytest.mark.skipif(
    not HAVE_FREEDICT,
    reason="FreeDict files missing in /usr/share/dictd "
    "(apt-get install dict-freedict-fin-eng dict-freedict-eng-fin)",
)


@pytest.fixture(scope="session")
def simplemma_lemmatizer() -> SimplemmaLemmatizer:
    return SimplemmaLemmatizer()


@pytest.fixture(scope="session")
def voikko_lemmatizer() -> VoikkoLemmatizer:
    if not HAVE_VOIKKO:
        pytest.skip("libvoikko is not importable or its Finnish dictionary does not load")
    return VoikkoLemmatizer()


@pytest.fixture(scope="session")
def analyzer() -> LexicalAnalyzer:
    """The analyzer as production builds it (Voikko when present, dictionaries when present)."""
    return build_analyzer()
