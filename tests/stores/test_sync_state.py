"""The sync state store contract, on SQLite and PostgreSQL (the ``backend`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from simatch.config import IndexSettings, StateSettings
from simatch.domain.sources import ItemState, SyncStateStore
from simatch.stores.factory import StateBackend, open_state, open_sync_state_store
from simatch.stores.transfer import copy_state

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@pytest.fixture
def store(backend: StateBackend) -> Iterator[SyncStateStore]:
    opened = open_sync_state_store(backend)
    yield opened
    opened.close()


def test_runs_are_kept_newest_first_and_a_killed_one_becomes_interrupted(
    store: SyncStateStore,
) -> None:
    first = store.start_run("eu-ft", T0)  # never finished: its process was killed
    second = store.start_run("eu-ft", T0 + timedelta(minutes=5))
    second.status, second.finished_at = "ok", T0 + timedelta(minutes=6)
    second.counts.added, second.counts.rejected = 7, 1
    second.rejections = [{"id": "X-1", "field": "deadline", "reason": "Field required"}]
    store.save_run(second)
    store.start_run("other", T0)

    runs = store.runs("eu-ft")
    assert [r.id for r in runs] == [second.id, first.id]
    assert [r.status for r in runs] == ["ok", "interrupted"]
    last = store.last_run("eu-ft")
    assert last is not None and last.counts.added == 7 and last.seconds == 60.0
    assert last.rejections[0]["id"] == "X-1"
    assert store.last_run("nothing") is None


def test_item_states_are_upserted_per_source(store: SyncStateStore) -> None:
    a = ItemState("eu-ft", "A", "call:A", "1:x", remap_after=date(2027, 1, 1))
    store.put_items([a, ItemState("eu-ft", "B", "call:B", "1:y")])
    store.put_items([ItemState("eu-ft", "B", "call:B", "1:z", withdrawn=True)])
    store.put_items([ItemState("haeavustuksia", "A", "call:ha-A", "q")])
    items = store.items("eu-ft")
    assert items["A"] == a
    assert items["B"].checksum == "1:z" and items["B"].withdrawn
    assert store.items("haeavustuksia")["A"].key == "call:ha-A"


def test_profiles_are_kept_until_reset(store: SyncStateStore) -> None:
    assert store.profile("eu-ft") is None
    store.set_profile("eu-ft", {"statuses": ["31094502"]})
    assert store.profile("eu-ft") == {"statuses": ["31094502"]}
    store.set_profile("eu-ft", None)
    assert store.profile("eu-ft") is None


def test_two_instances_share_state(backend: StateBackend) -> None:
    one, other = open_sync_state_store(backend), open_sync_state_store(backend)
    try:
        one.put_items([ItemState("eu-ft", "A", "call:A", "1:x")])
        assert other.items("eu-ft")["A"].checksum == "1:x"
        run = one.start_run("eu-ft", T0)
        assert other.last_run("eu-ft") == run
    finally:
        one.close()
        other.close()


def test_migrate_state_carries_the_sync_state(tmp_path: Path, fresh_pg_url: str) -> None:
    sqlite = open_sync_state_store(StateBackend(tmp_path / "data"))
    run = sqlite.start_run("eu-ft", T0)
    run.status, run.finished_at, run.counts.added = "ok", T0 + timedelta(seconds=90), 3
    sqlite.save_run(run)
    sqlite.put_items(
        [
            ItemState("eu-ft", "A", "call:A", "1:x", remap_after=date(2027, 1, 1)),
            ItemState("eu-ft", "B", "call:B", "1:y", withdrawn=True),
        ]
    )
    sqlite.set_profile("eu-ft", {"statuses": ["31094502"]})
    sqlite.close()

    first = {c.store: c.added for c in copy_state(tmp_path / "data", fresh_pg_url)}
    assert (first["source_items"], first["source_profiles"], first["sync_runs"]) == (2, 1, 1)
    again = {c.store: c.added for c in copy_state(tmp_path / "data", fresh_pg_url)}
    assert again["source_items"] == again["sync_runs"] == again["source_profiles"] == 0

    backend = open_state(
        IndexSettings(data_dir=tmp_path / "replica"), StateSettings(database_url=fresh_pg_url)
    )
    try:
        shared = open_sync_state_store(backend)
        items = shared.items("eu-ft")
        assert items["A"].remap_after == date(2027, 1, 1) and items["B"].withdrawn
        last = shared.last_run("eu-ft")
        assert last is not None and last.counts.added == 3 and last.seconds == 90.0
        assert shared.profile("eu-ft") == {"statuses": ["31094502"]}
    finally:
        backend.close()
