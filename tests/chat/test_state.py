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


def test_stored_conversations_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from simatch.chat.state import StoredConversations
    from simatch.stores.sqlite.conversations import SqliteConversationStates

    states = SqliteConversationStates(tmp_path / "threads.sqlite", ttl=60, max_threads=10)
    store = StoredConversations(states)
    assert "t1" not in store and store.get("t1") is None
    conv = store.get_or_create("t1")
    conv.language, conv.regions, conv.clarify_text = "en", ("Kainuu",), "nuoret"
    first = QueryState("q1", "yksinäisyys", "fi", ("Kainuu",))
    first.offsets["solutions"] = 3
    conv.remember(first)
    conv.remember(QueryState("q2", "funding", "en"))
    conv.ask_consent("q1", "U1")
    store.save(conv)
    again = StoredConversations(states).get("t1")  # as another replica reads it
    assert again == conv
    assert list(again.queries) == ["q1", "q2"] and again.current == "q2"
    store.rebind("t1", "t2")
    assert "t1" not in store and store.get("t2") == Conversation(**{**vars(conv), "key": "t2"})
    states.close()
