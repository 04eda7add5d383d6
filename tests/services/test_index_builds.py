"""A running process follows `simatch reindex` (services.index_builds): a reindex run in the
process switches it to the new build between matches, with matches answered throughout; a
build made with another model is not served (the process keeps its own model's build). Real
model, both index backends (qdrant-edge on disk, qdrant-client's local mode)."""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any

import pytest

from simatch.domain.ports import Embedder, SearchFilter
from simatch.domain.query import Query
from simatch.domain.records import parse_record
from simatch.embeddings.fake import FakeEmbedder
from simatch.services.reindex import ReindexService
from tests.conftest import ContainerFactory
from tests.services.repeating import repeating
from tests.services.test_reindex import RECORDS, index_settings, model, rows

pytestmark = pytest.mark.model
__all__ = ["index_settings", "model"]  # fixtures


def test_a_reindex_in_the_process_switches_it_between_matches(
    make_container: ContainerFactory, index_settings: dict[str, Any], model: Embedder
) -> None:
    box = make_container(embedder=model, **index_settings)
    assert box.ingestor.ingest(rows()).added == RECORDS
    reindex = box.background_reindex
    assert reindex is not None and box.serving_index is not None
    before = box.serving_index.build

    template = dict(rows(RECORDS + 1)[-1].data or {})
    ids = itertools.count()

    def match() -> int:
        result = box.match_service.match(Query("nuorten yksinäisyys", limit=3))
        return len(result.solutions) + len(result.peers)

    def write() -> str:
        # Records put through the server all along: none may be left in the old build.
        record_id = f"w{next(ids)}"
        box.ingestor.put(parse_record({**template, "id": record_id}))
        return record_id

    # Matches busy, not saturated: the rebuild runs on what is left.
    with repeating(match, pause=0.02) as matches, repeating(write, pause=0.1) as writes:
        assert reindex.start().status == "running"
        state = reindex.wait(300)
        after_switch = len(matches.results), len(writes.results)
        while (len(matches.results), len(writes.results)) < (
            after_switch[0] + 3,
            after_switch[1] + 3,
        ):
            if matches.failed or writes.failed:
                break
            threading.Event().wait(0.05)  # a few matches and writes on the new build
    failed, answered, written = matches.failed + writes.failed, matches.results, writes.results
    assert state.status == "ok", state.error
    assert state.report is not None and state.report.build == "simatch_r1"
    assert not failed and answered and min(answered) > 0
    assert box.serving_index.name == "simatch_r1" and box.serving_index.build is not before
    assert box.index_generations.current() == "simatch_r1"
    assert after_switch[1] > 0  # writes went on during the rebuild
    found = box.index.get([f"{template['kind']}:{w}" for w in written])
    assert len(found) == len(written)  # every one in the build that serves now
    assert box.index.count(SearchFilter()) == RECORDS + len(written)

    if index_settings:  # local mode: the old build's collections are still in the client
        old = box.index_generations.build("simatch")
        old.open(box.index_meta)
        assert old.count(SearchFilter()) < RECORDS + len(written)


def test_a_build_of_another_model_is_not_served(
    make_container: ContainerFactory,
    index_settings: dict[str, Any],
    model: Embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    box = make_container(embedder=FakeEmbedder(), **index_settings)
    assert box.ingestor.ingest(rows()).added == RECORDS
    other = make_container(embedder=model, **index_settings)
    # `simatch reindex` with the real model over this process's builds.
    rebuilt = ReindexService(
        box.index_generations, other.index_meta, other.reindex_service.ingestor_for
    ).run(source=box.index)
    assert box.index_generations.current() == rebuilt.build == "simatch_r1"
    switch = box.build_switch
    assert switch is not None
    with caplog.at_level(logging.WARNING, logger="simatch.services.index_builds"):
        assert switch.check() is None
        assert switch.check() is None  # logged once
    assert box.serving_index is not None and box.serving_index.name == "simatch"
    assert sum("keeps serving simatch" in r.getMessage() for r in caplog.records) == 1
    # Still answered, from its own model's build.
    assert box.match_service.match(Query("nuorten yksinäisyys", limit=3)).solutions


def test_a_reindex_waits_for_a_running_import_and_ends_quietly_when_the_server_stops(
    make_container: ContainerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    from simatch.services.imports import IMPORT_LOCK

    box = make_container(embedder=FakeEmbedder())
    assert box.ingestor.ingest(rows()).added == RECORDS
    reindex = box.background_reindex
    assert reindex is not None
    job_side = make_container(embedder=FakeEmbedder())  # an import job's lock, same state
    with job_side.locks.exclusive(IMPORT_LOCK) as taken, caplog.at_level(logging.WARNING):
        assert taken
        assert reindex.start().stage == "waiting"
        assert reindex.wait(1.0).status == "running"  # still waiting for the import
        reindex.stop()
    state = reindex.state()
    assert state.status == "failed" and state.error is not None and "stopped" in state.error
    assert box.index_generations.current() == "simatch"  # nothing switched
    assert not any(r.exc_info for r in caplog.records)  # no traceback in the log
