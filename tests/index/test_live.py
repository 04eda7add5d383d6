"""LiveIndex (index.live): two real qdrant-edge builds, the serving one replaced between
requests: a pinned request keeps its build to the end, the replacement waits for it, new
requests wait behind the replacement, and afterwards every call goes to the new build."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from simatch.domain.ports import SearchFilter
from simatch.index.live import LiveIndex
from simatch.index.qdrant_edge import EdgeIndex
from simatch.index.schema import CollectionSchema, load_schema
from tests.index.test_contract import META, corpus

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")


@pytest.fixture
def builds(tmp_path: Path) -> tuple[EdgeIndex, EdgeIndex]:
    """The old build with every record, the new one with all but the last."""
    schema: CollectionSchema = load_schema()
    old, new = EdgeIndex(tmp_path / "old", schema), EdgeIndex(tmp_path / "new", schema)
    for build, docs in ((old, corpus()), (new, corpus()[:-1])):
        build.open(META)
        build.upsert(docs)
    yield old, new
    old.close()
    new.close()


def test_calls_go_to_the_serving_build_and_after_a_replace_to_the_new_one(
    builds: tuple[EdgeIndex, EdgeIndex],
) -> None:
    old, new = builds
    live = LiveIndex("simatch", old)
    assert live.count(SearchFilter()) == len(corpus()) and live.name == "simatch"
    assert live.replace("simatch_r1", new) is old
    assert live.count(SearchFilter()) == len(corpus()) - 1 and live.name == "simatch_r1"
    assert live.build is new
    live.upsert(corpus()[-1:])  # writes go to the new build too
    assert new.count(SearchFilter()) == len(corpus())


def test_a_replace_waits_for_pinned_requests_and_new_requests_wait_for_it(
    builds: tuple[EdgeIndex, EdgeIndex],
) -> None:
    old, new = builds
    live = LiveIndex("simatch", old)
    in_request = threading.Event()
    finish_request = threading.Event()
    seen: dict[str, int] = {}

    def request() -> None:
        with live.pinned():
            seen["first"] = live.count(SearchFilter())
            in_request.set()
            finish_request.wait(10)
            seen["second"] = live.count(SearchFilter())  # same build, replace or not

    def replace() -> None:
        live.replace("simatch_r1", new)

    def later_request() -> None:
        count = live.count(SearchFilter())
        seen["later"] = count

    first = threading.Thread(target=request)
    first.start()
    assert in_request.wait(10)
    swap = threading.Thread(target=replace)
    swap.start()
    time.sleep(0.2)
    assert swap.is_alive()  # waits for the pinned request
    later = threading.Thread(target=later_request)
    later.start()
    time.sleep(0.2)
    assert later.is_alive() and "later" not in seen  # held back behind the replacement
    finish_request.set()
    for thread in (first, swap, later):
        thread.join(10)
        assert not thread.is_alive()
    assert seen["first"] == seen["second"] == len(corpus())  # the old build all along
    assert seen["later"] == len(corpus()) - 1  # the new build


def test_nested_pins_keep_the_outer_build_and_replace_inside_a_pin_is_refused(
    builds: tuple[EdgeIndex, EdgeIndex],
) -> None:
    old, new = builds
    live = LiveIndex("simatch", old)
    with live.pinned() as outer:
        with live.pinned() as inner:
            assert inner is outer is old
        assert live.count(SearchFilter()) == len(corpus())
        with pytest.raises(RuntimeError):
            live.replace("simatch_r1", new)
    assert live.replace("simatch_r1", new) is old


def test_writes_wait_while_held_and_reads_go_on(builds: tuple[EdgeIndex, EdgeIndex]) -> None:
    old, new = builds
    live = LiveIndex("simatch", old)
    wrote = threading.Event()

    def write() -> None:
        live.upsert(corpus()[-1:])
        wrote.set()

    with live.writes_held():
        writer = threading.Thread(target=write)
        writer.start()
        assert live.count(SearchFilter()) == len(corpus())  # reads go on
        assert not wrote.wait(0.3)  # the write waits
        assert live.replace("simatch_r1", new) is old  # a waiting write is not in flight
    writer.join(10)
    assert wrote.is_set()
    assert new.count(SearchFilter()) == len(corpus())  # it landed in the new build
