"""A background import runs below the requests' priority (simatch.services.background):
its threads, and the threads they start, have the lowest nice value; a foreground import
and the requests keep the normal one."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Sequence

import pytest

from simatch.domain.ports import Vector
from simatch.embeddings.fake import FakeEmbedder
from simatch.services.background import BACKGROUND_NICE, RequestsFirst, lower_this_thread
from tests.api.conftest import ApiFactory
from tests.api.test_import_jobs import NDJSON, rows, wait_finished

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")


def this_thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


class NiceRecordingEmbedder(FakeEmbedder):
    """The fake model, remembering the nice value of the thread each document batch ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.nice: list[int] = []

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        self.nice.append(this_thread_nice())
        return super().embed_documents(texts)


def test_a_lowered_thread_and_the_threads_it_starts_run_at_background_nice() -> None:
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = this_thread_nice()

    def background() -> None:
        seen["lowered"] = int(lower_this_thread())
        seen["self"] = this_thread_nice()
        started = threading.Thread(target=child)
        started.start()
        started.join()

    before = this_thread_nice()
    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen == {"lowered": 1, "self": BACKGROUND_NICE, "child": BACKGROUND_NICE}
    assert this_thread_nice() == before  # the rest of the process keeps its priority


def test_background_import_embeds_at_low_priority_foreground_at_normal(
    make_api: ApiFactory,
) -> None:
    embedder = NiceRecordingEmbedder()
    api = make_api(embedder=embedder, ingest={"ingest_batch_size": 4})
    normal = this_thread_nice()
    assert normal < BACKGROUND_NICE
    answer = api.client.post(
        "/v1/records/import?background=true",
        content=rows(12),
        headers={**api.headers("curate"), **NDJSON},
    )
    assert answer.status_code == 202, answer.text
    assert wait_finished(api, answer.headers["Location"])["state"] == "succeeded"
    assert embedder.nice == [BACKGROUND_NICE] * 3  # three batches, all in the background

    embedder.nice.clear()
    line = json.dumps({"kind": "actor", "id": "x1", "name": "Yhdistys", "description": "Kuvaus"})
    answer = api.client.post(
        "/v1/records/import?background=false",
        content=(line + "\n").encode(),
        headers={**api.headers("curate"), **NDJSON},
    )
    assert answer.status_code == 200, answer.text
    assert embedder.nice == [normal]


def test_background_steps_wait_while_a_request_is_answered() -> None:
    gate = RequestsFirst(max_pause_s=5)
    waited: dict[str, float] = {}

    def background() -> None:
        lower_this_thread()
        started = time.monotonic()
        gate.pause()
        waited["background"] = time.monotonic() - started

    with gate.serving():
        started = time.monotonic()
        gate.pause()  # a foreground thread never waits
        waited["foreground"] = time.monotonic() - started
        thread = threading.Thread(target=background)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive()  # held while the request is served
    thread.join(5)
    assert not thread.is_alive()
    assert waited["foreground"] < 0.05 and 0.3 <= waited["background"] < 5


def test_a_background_step_waits_at_most_max_pause() -> None:
    gate = RequestsFirst(max_pause_s=0.2)
    waited: list[float] = []

    def background() -> None:
        lower_this_thread()
        started = time.monotonic()
        gate.pause()
        waited.append(time.monotonic() - started)

    with gate.serving():
        thread = threading.Thread(target=background)
        thread.start()
        thread.join(5)
    assert len(waited) == 1 and 0.15 <= waited[0] < 2
