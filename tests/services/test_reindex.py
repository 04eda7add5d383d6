"""`simatch reindex` (services.reindex): the index rebuilt with the current model beside the
serving build, switched over when complete, on both index backends (qdrant-edge on disk,
qdrant-client's local mode for the server adapter), with the real model."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from simatch.config import EmbeddingSettings
from simatch.domain.ports import Embedder, SearchFilter
from simatch.domain.query import Query
from simatch.embeddings.fake import FakeEmbedder
from simatch.errors import ModelMismatch
from simatch.ingest.demo import demo_rows
from simatch.ingest.readers import RawRow
from simatch.services.reindex import ReindexService
from simatch.wiring import Container
from tests.conftest import REPO, ContainerFactory
from tests.services.repeating import repeating

pytestmark = pytest.mark.model

RECORDS = 40


@pytest.fixture(scope="module")
def model() -> Embedder:
    """The current model and runtime (torch where installed), loaded once."""
    from simatch.embeddings.factory import build_embedder

    embedder = build_embedder(EmbeddingSettings())
    embedder.load()
    return embedder


@pytest.fixture(params=["edge", "server"])
def index_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"qdrant_url": ":memory:"} if request.param == "server" else {}


def rows(n: int = RECORDS) -> list[Any]:
    """Every fifth demo record: all kinds."""
    return list(islice(demo_rows(REPO / "indexes"), 0, 5 * n, 5))


def serving(make_container: ContainerFactory, index_settings: dict[str, Any]) -> Container:
    """A server's container on the old model (the fake), its index built and open."""
    old = make_container(embedder=FakeEmbedder(), **index_settings)
    assert old.ingestor.ingest(rows()).added == RECORDS
    return old


def rebuild(old: Container, new: Container) -> ReindexService:
    """The reindex of ``new``'s model over ``old``'s builds (one client for both on the
    server backend: local mode keeps its collections in that client)."""
    return ReindexService(old.index_generations, new.index_meta, new.reindex_service.ingestor_for)


def test_reindex_switches_when_complete_while_the_old_build_serves(
    make_container: ContainerFactory, index_settings: dict[str, Any], model: Embedder
) -> None:
    old = serving(make_container, index_settings)
    new = make_container(embedder=model, **index_settings)
    service = rebuild(old, new)
    assert old.index_generations.current() == "simatch"

    def match() -> int:
        result = old.matcher.match(Query("nuorten yksinäisyys", limit=3))
        return len(result.solutions) + len(result.peers)

    extra = dict(rows(RECORDS + 1)[-1].data or {})
    first = dict(rows(1)[0].data or {})
    changed: list[str] = []

    def during_copy(stage: str, read: int) -> None:
        # A record imported and one deleted while the copy runs: the second pass sees them.
        if stage == "copy" and not changed:
            changed.append("yes")
            old.ingestor.ingest([RawRow("extra", 1, extra)])
            old.ingestor.delete([f"{first['kind']}:{first['id']}"])

    with repeating(match) as matches:
        report = service.run(source=old.index, progress=during_copy)
    failed, answered = matches.failed, matches.results
    assert not failed and answered and min(answered) > 0  # answered all along, from the old
    assert report.previous == "simatch" and report.build == "simatch_r1"
    assert (report.records, report.caught_up, report.removed) == (RECORDS, 1, 1)
    assert report.embedded >= RECORDS
    assert old.index_generations.current() == "simatch_r1"
    # The running process keeps its build and its model ...
    assert old.index.count(SearchFilter()) == RECORDS
    assert old.matcher.match(Query("nuorten yksinäisyys", limit=3)).solutions
    if not index_settings:
        old.close()  # the embedded index: one process opens a build
        # ... a process opening the index now gets the new build, on the new model only.
        reopened = make_container(embedder=model, **index_settings)
        assert reopened.index.count(SearchFilter()) == RECORDS
        assert reopened.matcher.match(Query("nuorten yksinäisyys", limit=3)).solutions
        with pytest.raises(ModelMismatch):
            _ = make_container(embedder=FakeEmbedder(), **index_settings).index


def test_an_interrupted_reindex_leaves_the_old_build_serving_and_is_finished_by_a_rerun(
    make_container: ContainerFactory, index_settings: dict[str, Any], model: Embedder
) -> None:
    old = serving(make_container, index_settings)
    new = make_container(embedder=model, **index_settings)
    service = rebuild(old, new)

    def interrupt(stage: str, read: int) -> None:
        if stage == "catch up":  # the copy is complete, the switch not made
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.run(source=old.index, progress=interrupt)
    assert old.index_generations.current() == "simatch"
    assert old.index_generations.names() == ["simatch", "simatch_r1"]
    assert old.matcher.match(Query("nuorten yksinäisyys", limit=3)).solutions

    report = service.run(source=old.index)
    assert report.resumed and report.build == "simatch_r1" and report.records == RECORDS
    assert report.embedded == 0  # what landed before is not embedded again
    assert old.index_generations.current() == "simatch_r1"

    # The next reindex replaces r1 with r2 and deletes the build r1 replaced.
    if not index_settings:
        old.index.close()  # the embedded build this process serves is about to be deleted
    again = service.run()
    assert (again.previous, again.build, again.embedded) == ("simatch_r1", "simatch_r2", 0)
    assert old.index_generations.names() == ["simatch_r1", "simatch_r2"]


def test_the_cli_rebuilds_and_switches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from simatch.cli.main import app
    from tests.ingest.test_pipeline import GOOD, write_jsonl

    monkeypatch.setenv("SIMATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIMATCH_EMBEDDING_BACKEND", "fake")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert (
        runner.invoke(app, ["ingest", str(write_jsonl(tmp_path / "g.jsonl", GOOD))]).exit_code == 0
    )
    result = runner.invoke(app, ["reindex"])
    assert result.exit_code == 0, result.output
    assert "simatch_r1 now serves (4 records" in " ".join(result.output.split())
    assert (tmp_path / "data" / "index" / "simatch.current").read_text().strip() == "simatch_r1"
    found = runner.invoke(app, ["match", "--json", "Nuorten yksinäisyys"])
    assert found.exit_code == 0 and '"i1"' in found.output
