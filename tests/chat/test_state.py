from __future__ import annotations

from simatch.chat.state import Conversation, ConversationStore, QueryState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_conversations_expire_after_the_ttl() -> None:
    clock = Clock()
    store = ConversationStore(ttl=60, clock=clock)
    store.save(Conversation("a"))
    clock.now = 59
    assert store.get("a") is not None
    store.save(store.get_or_create("a"))  # use renews
    clock.now = 118
    assert "a" in store
    clock.now = 200
    assert store.get("a") is None and len(store) == 0


def test_the_least_recently_used_thread_is_forgotten_first() -> None:
    store = ConversationStore(max_conversations=2)
    for key in ("a", "b"):
        store.save(Conversation(key))
    store.save(store.get_or_create("a"))
    store.save(Conversation("c"))
    assert "b" not in store and "a" in store and "c" in store


def test_a_thread_keeps_its_last_five_questions() -> None:
    conv = Conversation("t")
    for n in range(7):
        conv.remember(QueryState(key=f"q{n}", text="x", language="fi"))
    assert list(conv.queries) == ["q2", "q3", "q4", "q5", "q6"]
    assert conv.query() is conv.queries["q6"] and conv.query("q0") is None


def test_rebind_moves_a_conversation() -> None:
    store = ConversationStore()
    store.save(Conversation("tmp"))
    store.rebind("tmp", "final")
    assert "tmp" not in store and store.get("final") is not None
    assert store.get("final").key == "final"  # type: ignore[union-attr]
