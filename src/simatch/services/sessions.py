"""Signing in to the staff console: an API key of scope curate (or admin) is exchanged for a
session that expires; the key itself never reaches the browser's storage. A session ends
when it has not been used for the idle time, a lifetime after it began however much it is
used, when its owner signs out, or when its key is revoked. Both times are kept by the
server (the store's ``expires``), whatever the browser keeps."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from simatch.domain.keys import Scope
from simatch.domain.sessions import ConsoleSession, SessionStore, hash_session_id, new_session_id
from simatch.domain.stores import KeyStore
from simatch.errors import Forbidden, NotFound, Unauthenticated

CONSOLE_SCOPE: Scope = "curate"
# A used session's end is written again only once it would move by this much (at most),
# not on every request: it may then end up to this much before the idle time is over.
EXTEND_STEP = timedelta(minutes=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SessionService:
    def __init__(
        self,
        keys: KeyStore,
        store: SessionStore,
        ttl: timedelta,
        idle: timedelta | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """``ttl``: the lifetime of a session, however much it is used; ``idle``: a session
        not used for this long ends (None: only the lifetime counts)."""
        self.keys = keys
        self.store = store
        self.ttl = ttl
        self.idle = idle if idle is not None and idle < ttl else ttl
        self.clock = clock

    def sign_in(self, token: str) -> tuple[ConsoleSession, str]:
        """The new session and its id (for the cookie; only its hash is stored).
        Unauthenticated for an unknown or revoked key, Forbidden without scope curate."""
        key = self.keys.authenticate(token.strip())
        if key is None:
            raise Unauthenticated("The API key is unknown or revoked.")
        if not key.allows(CONSOLE_SCOPE):
            raise Forbidden(
                f"The key '{key.name}' lacks the scope '{CONSOLE_SCOPE}'.",
                {"required_scope": CONSOLE_SCOPE},
            )
        now = self.clock()
        self.store.purge(now)
        session_id = new_session_id()
        session = ConsoleSession(
            id_hash=hash_session_id(session_id),
            key_id=key.id,
            key_name=key.name,
            csrf=secrets.token_urlsafe(32),
            created=now,
            expires=now + self.idle,
        )
        self.store.create(session)
        return session, session_id

    def current(self, session_id: str | None) -> ConsoleSession | None:
        """The live session with this id, or None (unknown, idle too long, past its
        lifetime, or its key revoked). Using it moves its end to the idle time from now
        (never past its lifetime)."""
        if not session_id or len(session_id) > 100:
            return None
        now = self.clock()
        session = self.store.get(hash_session_id(session_id), now)
        if session is None or now >= session.created + self.ttl:
            return None  # (the lifetime may have been shortened since it began)
        try:
            active = self.keys.get(session.key_id).active
        except NotFound:
            active = False
        if not active:
            self.store.delete_for_key(session.key_id)
            return None
        expires = min(session.created + self.ttl, now + self.idle)
        if expires - session.expires >= min(EXTEND_STEP, self.idle / 10):
            if not self.store.extend(session.id_hash, expires, now):
                return None  # signed out meanwhile
            session = replace(session, expires=expires)
        return session

    def scopes_allow(self, session: ConsoleSession, scope: Scope) -> bool:
        try:
            return self.keys.get(session.key_id).allows(scope)
        except NotFound:
            return False

    def sign_out(self, session_id: str | None) -> None:
        if session_id:
            self.store.delete(hash_session_id(session_id))

    @staticmethod
    def csrf_ok(session: ConsoleSession, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(session.csrf, token or "")
