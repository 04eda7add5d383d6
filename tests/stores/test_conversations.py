"""The ConversationStates contract (chat threads' state), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from simatch.stores.factory import StateBackend, open_conversation_states

STATE = {"language": "fi", "queries": [{"key": "q1", "text": "nuoret", "offsets": {"a": 3}}]}


def test_a_thread_is_saved_loaded_and_rebound(backend: StateBackend) -> None:
    threads = open_conversation_states(backend, ttl=60, max_threads=100)
    assert threads.load("T1") is None
    threads.save("T1", STATE)
    assert threads.load("T1") == STATE
    threads.save("T1", {**STATE, "language": "en"})
    assert threads.load("T1")["language"] == "en"  # type: ignore[index]
    threads.save("T2", {"other": True})
    threads.rebind("T1", "T2")  # replaces what was there
    assert threads.load("T1") is None
    assert threads.load("T2") == {**STATE, "language": "en"}
    threads.rebind("nope", "T3")
    assert threads.load("T3") is None
    threads.close()


def test_another_instance_sees_the_thread(backend: StateBackend) -> None:
    one = open_conversation_states(backend, ttl=60, max_threads=100)
    two = open_conversation_states(backend, ttl=60, max_threads=100)
    one.save("slack:C1:1700.1", STATE)
    assert two.load("slack:C1:1700.1") == STATE
    one.close()
    two.close()


def test_threads_expire_and_the_oldest_go_beyond_the_bound(backend: StateBackend) -> None:
    threads = open_conversation_states(backend, ttl=0.5, max_threads=3)
    threads.save("old", STATE)
    time.sleep(0.6)
    assert threads.load("old") is None  # expired, even before any pruning
    for name in ("a", "b", "c", "d"):
        threads.save(name, STATE)
        time.sleep(0.01)
    threads.prune()
    kept = [name for name in ("old", "a", "b", "c", "d") if threads.load(name) is not None]
    assert kept == ["b", "c", "d"]
    threads.close()
