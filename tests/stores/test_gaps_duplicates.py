"""The GapLog and DuplicateStore contracts, on SQLite and PostgreSQL."""

from __future__ import annotations

from simatch.domain.stores import DuplicateFlag
from simatch.stores.factory import StateBackend, open_duplicate_store, open_gap_log


def test_gaps_newest_first_with_paging(backend: StateBackend) -> None:
    log = open_gap_log(backend)
    ids = [
        log.record("nuorten yksinäisyys", "fi", "slack", ("Kainuu", "Uusimaa"), "m1"),
        log.record("loneliness", "en", "api"),
        log.record("kolmas", "fi", "cli", match_id="m3"),
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert log.count() == 3
    gaps = log.list()
    assert [g.text for g in gaps] == ["kolmas", "loneliness", "nuorten yksinäisyys"]
    oldest = gaps[-1]
    assert oldest.regions == ("Kainuu", "Uusimaa") and oldest.match_id == "m1"
    assert oldest.platform == "slack" and oldest.language == "fi"
    assert oldest.created_at.tzinfo is not None
    assert gaps[1].regions == () and gaps[1].match_id is None
    assert [g.text for g in log.list(limit=1, offset=1)] == ["loneliness"]
    log.close()


def test_duplicates_replace_and_list(backend: StateBackend) -> None:
    store = open_duplicate_store(backend)
    store.replace(
        ["innovation:b"],
        [
            DuplicateFlag(key="innovation:b", other="innovation:a", score=0.97),
            DuplicateFlag(key="innovation:b", other="innovation:c", score=0.91),
        ],
    )
    store.replace(["need:x"], [DuplicateFlag(key="need:x", other="need:y", score=0.95)])
    pairs = store.list()
    assert [(p.a, p.b, p.score) for p in pairs] == [
        ("innovation:a", "innovation:b", 0.97),
        ("need:x", "need:y", 0.95),
        ("innovation:b", "innovation:c", 0.91),
    ]
    assert all(p.found is not None for p in pairs)
    assert len(store.list(min_score=0.95)) == 2
    assert len(store.list(limit=1)) == 1
    # Re-importing c forgets its flags (found from either side) and keeps the new ones.
    store.replace(["innovation:c"], [])
    store.replace(
        ["innovation:a"], [DuplicateFlag(key="innovation:a", other="innovation:b", score=0.9)]
    )
    assert [(p.a, p.b, p.score) for p in store.list()] == [
        ("need:x", "need:y", 0.95),
        ("innovation:a", "innovation:b", 0.9),
    ]
    store.replace(["need:y", "innovation:b"], [])
    assert store.list() == []
    store.close()
