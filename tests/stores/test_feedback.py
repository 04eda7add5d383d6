"""The FeedbackLog contract (match log, feedback, boosts), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simatch.domain.stores import GapNote
from simatch.stores.boosts import BoostRule
from simatch.stores.factory import StateBackend, open_gap_log
from tests.stores.conftest import Stores

DIM = 8


def unit(seed: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def test_a_logged_match_is_found_with_its_items(stores: Stores) -> None:
    log = stores.feedback()
    items = [("innovation", "b"), ("actor", "org"), ("innovation", "a")]
    log.log_match("m1", unit(1), "fi", items)
    found = log.get_match("m1")
    assert found is not None
    assert found.match_id == "m1" and found.language == "fi"
    assert found.items == tuple(items)  # in the order returned
    assert found.created.tzinfo is not None
    assert log.get_match("nope") is None


def test_feedback_is_listed_newest_first_with_filters(stores: Stores) -> None:
    log = stores.feedback()
    log.log_match("m1", unit(1), "en", [("innovation", "a"), ("call", "c")])
    first = log.add_feedback("m1", "a", "innovation", "useful", None, "api")
    second = log.add_feedback("m1", "c", "call", "not_useful", "closed", "slack")
    assert first.language == "en" and first.reason is None and first.created.tzinfo is not None
    assert second.id > first.id and second.reason == "closed"
    assert [e.id for e in log.list_feedback()] == [second.id, first.id]
    assert [e.id for e in log.list_feedback(before=second.id)] == [first.id]
    assert [e.id for e in log.list_feedback(verdict="useful")] == [first.id]
    assert [e.id for e in log.list_feedback(item_id="c", source="slack")] == [second.id]
    assert log.list_feedback(source="teams") == []
    assert len(log.list_feedback(limit=1)) == 1


def test_votes_move_similar_queries_only(stores: Stores) -> None:
    log = stores.feedback(rule=BoostRule(min_similarity=0.9, step=0.1, max_boost=0.3))
    query = unit(7)
    log.log_match("m1", query, "fi", [("innovation", "good"), ("innovation", "bad")])
    assert log.boosts(query) == {}
    log.add_feedback("m1", "good", "innovation", "useful", None, "api")
    log.add_feedback("m1", "bad", "innovation", "not_useful", None, "api")
    log.add_feedback("m1", "org", "organisation", "useful", None, "api")  # moves nothing
    boosts = log.boosts(query)
    assert boosts == pytest.approx({"innovation:good": 0.1, "innovation:bad": -0.1})
    assert log.boosts(unit(8)) == {}  # an unrelated question


def test_votes_of_another_model_are_ignored(stores: Stores) -> None:
    mine, theirs = stores.feedback(model_id="a"), stores.feedback(model_id="b")
    theirs.log_match("m1", unit(1), "fi", [("innovation", "x")])
    theirs.add_feedback("m1", "x", "innovation", "useful", None, "api")
    assert theirs.boosts(unit(1)) != {}
    assert mine.boosts(unit(1)) == {}


def test_feedback_through_one_instance_moves_the_other(stores: Stores) -> None:
    """Another process (the CLI, a bot, another replica) on the same backend."""
    serving, other = stores.feedback(), stores.feedback()
    serving.log_match("m1", unit(3), "fi", [("need", "n")])
    assert other.get_match("m1") is not None
    other.add_feedback("m1", "n", "need", "useful", None, "teams")
    other.add_feedback("m1", "n", "need", "useful", None, "teams")  # netted: one step
    assert serving.boosts(unit(3)) == pytest.approx({"need:n": 0.1})
    assert [e.source for e in serving.list_feedback()] == ["teams", "teams"]


def test_old_matches_without_feedback_are_pruned(stores: Stores) -> None:
    now = [1_000.0]

    def clock() -> float:
        now[0] += 1
        return now[0]

    log = stores.feedback(log_size=100, clock=clock)
    log.log_match("kept", unit(0), "fi", [("innovation", "a")])
    log.add_feedback("kept", "a", "innovation", "useful", None, "api")
    for i in range(300):
        log.log_match(f"m{i}", unit(i + 1), "fi", [("innovation", "a")])
    assert log.get_match("kept") is not None  # has feedback
    assert log.get_match("m299") is not None
    assert log.get_match("m0") is None
    present = sum(log.get_match(f"m{i}") is not None for i in range(300))
    assert 100 <= present <= 100 + 128


def test_the_backend_names_itself(backend: StateBackend) -> None:
    assert backend.name in ("sqlite", "postgresql")


def test_a_gap_is_recorded_with_its_match(stores: Stores) -> None:
    log = stores.feedback()
    log.log_match("m1", unit(1), "fi", [("innovation", "a")])
    note = GapNote("hukkuvat ankat", "fi", "slack", ("Kainuu",))
    log.log_match("m2", unit(2), "fi", [("innovation", "a")], gap=note)
    gaps = open_gap_log(stores.backend)
    listed = gaps.list()
    assert [(g.text, g.platform, g.regions, g.match_id) for g in listed] == [
        ("hukkuvat ankat", "slack", ("Kainuu",), "m2")
    ]
    assert log.get_match("m2") is not None
    gaps.close()
