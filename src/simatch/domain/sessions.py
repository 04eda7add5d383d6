"""Staff console sessions: an API key of scope curate or admin is exchanged once for a
session; the browser then holds only the session's id in a cookie. Only a hash of that id
is stored, like API keys. Each session carries its own CSRF token for the forms.

A session ends when it has not been used for the idle time, and in any case a lifetime
after it was created: ``expires`` is the earlier of the two, moved on as it is used."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ConsoleSession:
    id_hash: str
    key_id: str
    key_name: str
    csrf: str
    created: datetime
    expires: datetime  # when it ends unless it is used before (never after its lifetime)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStore(Protocol):
    def create(self, session: ConsoleSession) -> None: ...

    def get(self, id_hash: str, now: datetime) -> ConsoleSession | None:
        """The session if it exists and has not expired at ``now``."""
        ...

    def extend(self, id_hash: str, expires: datetime, now: datetime) -> bool:
        """Move the end of a session live at ``now`` to ``expires`` (it was used); False
        when it had ended or is gone."""
        ...

    def delete(self, id_hash: str) -> None: ...

    def delete_for_key(self, key_id: str) -> int:
        """End every session of a key (it was revoked)."""
        ...

    def purge(self, now: datetime) -> int:
        """Forget expired sessions; returns how many."""
        ...

    def close(self) -> None: ...
