"""Per-thread conversation state, with a time-to-live and a size bound.

A thread remembers its last few questions (so "show more" under an older answer still works),
the region filter and an explicitly chosen language, and what the assistant is waiting for
(an answer to its clarifying question, or a consent to save a need).

``StoredConversations`` (what the service uses) keeps each thread as a JSON document in a
store (``domain.stores.ConversationStates``): a SQLite file on one machine, or PostgreSQL
that every replica shares, so a follow-up is understood by whichever replica receives it.
``ConversationStore`` keeps them in memory (tests, a shell). When a thread's state is gone
(expired), the user is told so when they press a button whose question is gone.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from simatch.domain.results import SECTIONS
from simatch.domain.stores import ConversationStates


@dataclass
class QueryState:
    key: str
    text: str
    language: str
    regions: tuple[str, ...] = ()
    # Next offset per section: how many items of it the thread has already seen.
    offsets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))


@dataclass
class Conversation:
    key: str
    language: str | None = None  # chosen explicitly ("in English"); sticks for the thread
    regions: tuple[str, ...] = ()
    queries: OrderedDict[str, QueryState] = field(default_factory=OrderedDict)
    current: str | None = None
    clarify_text: str = ""  # a vague question, while waiting for details
    consent_query: str = ""  # the question to save as a need, while waiting for consent
    consent_user: str = ""  # only this person can give that consent
    touched: float = 0.0

    MAX_QUERIES = 5

    def remember(self, query: QueryState) -> None:
        self.queries[query.key] = query
        self.queries.move_to_end(query.key)
        while len(self.queries) > self.MAX_QUERIES:
            self.queries.popitem(last=False)
        self.current = query.key

    def query(self, key: str | None = None) -> QueryState | None:
        wanted = key or self.current
        return self.queries.get(wanted) if wanted else None

    def ask_consent(self, query_key: str, user: str) -> None:
        self.consent_query, self.consent_user = query_key, user

    def end_consent(self) -> None:
        self.consent_query = self.consent_user = ""

    def awaits_consent(self, user: str | None = None) -> bool:
        return bool(self.consent_query) and user in (None, self.consent_user)


class ConversationStore:
    """Thread-safe. Entries expire ``ttl`` seconds after their last use; past
    ``max_conversations`` the least recently used thread is forgotten first."""

    def __init__(
        self,
        ttl: float = 24 * 3600,
        max_conversations: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_conversations < 1:
            raise ValueError("ttl and max_conversations must be positive")
        self.ttl = ttl
        self.max_conversations = max_conversations
        self._clock = clock
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, key: str) -> Conversation | None:
        with self._lock:
            conv = self._items.get(key)
            if conv is None:
                return None
            if self._clock() - conv.touched > self.ttl:
                del self._items[key]
                return None
            return conv

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get_or_create(self, key: str) -> Conversation:
        return self.get(key) or Conversation(key=key)

    def save(self, conv: Conversation) -> None:
        with self._lock:
            conv.touched = self._clock()
            self._items[conv.key] = conv
            self._items.move_to_end(conv.key)
            self._evict()

    def rebind(self, old: str, new: str) -> None:
        """Move a conversation to another key (a Slack reply's ts is known only after posting)."""
        with self._lock:
            conv = self._items.pop(old, None)
            if conv is not None:
                conv.key = new
                self._items[new] = conv

    def _evict(self) -> None:
        now = self._clock()
        while self._items:
            oldest = next(iter(self._items.values()))
            if len(self._items) > self.max_conversations or now - oldest.touched > self.ttl:
                self._items.popitem(last=False)
            else:
                break


class Conversations(Protocol):
    """What the engine needs of a conversation store."""

    def get(self, key: str) -> Conversation | None: ...

    def get_or_create(self, key: str) -> Conversation: ...

    def save(self, conv: Conversation) -> None: ...

    def rebind(self, old: str, new: str) -> None: ...

    def __contains__(self, key: object) -> bool: ...


class StoredConversations:
    """Conversations as documents in a ``ConversationStates`` store (which owns expiry and
    the size bound). Two messages of one thread at the same moment on two replicas: the
    later save wins, as if they had arrived in that order."""

    def __init__(self, states: ConversationStates) -> None:
        self.states = states

    def get(self, key: str) -> Conversation | None:
        document = self.states.load(key)
        return None if document is None else from_document(key, document)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.states.load(key) is not None

    def get_or_create(self, key: str) -> Conversation:
        return self.get(key) or Conversation(key=key)

    def save(self, conv: Conversation) -> None:
        self.states.save(conv.key, to_document(conv))

    def rebind(self, old: str, new: str) -> None:
        self.states.rebind(old, new)


def to_document(conv: Conversation) -> dict[str, Any]:
    return {
        "language": conv.language,
        "regions": list(conv.regions),
        "queries": [
            {
                "key": q.key,
                "text": q.text,
                "language": q.language,
                "regions": list(q.regions),
                "offsets": dict(q.offsets),
            }
            for q in conv.queries.values()
        ],
        "current": conv.current,
        "clarify_text": conv.clarify_text,
        "consent": {"query": conv.consent_query, "user": conv.consent_user},
    }


def from_document(key: str, doc: dict[str, Any]) -> Conversation:
    queries: OrderedDict[str, QueryState] = OrderedDict()
    for q in doc.get("queries", []):
        state = QueryState(
            key=str(q["key"]),
            text=str(q["text"]),
            language=str(q["language"]),
            regions=tuple(q.get("regions", ())),
            offsets={str(k): int(v) for k, v in q.get("offsets", {}).items()},
        )
        queries[state.key] = state
    consent = doc.get("consent") or {}
    return Conversation(
        key=key,
        language=doc.get("language"),
        regions=tuple(doc.get("regions", ())),
        queries=queries,
        current=doc.get("current"),
        clarify_text=str(doc.get("clarify_text", "")),
        consent_query=str(consent.get("query", "")),
        consent_user=str(consent.get("user", "")),
    )
