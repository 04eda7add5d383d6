"""API keys as ``Authorization: Bearer KEY``, with scopes ``match`` < ``curate`` < ``admin``.

Every /v1 request passes ``get_caller`` once, which checks the key if one is sent, and then
its route's access dependency, which takes a token from the rate limiter of the key, or of
the client address when there is no key. A key that is sent but unknown or revoked is a 401
even where no key is needed, so that a broken integration shows at once, and it counts
against the address (guessing keys is rate limited too). A missing key where one is needed
is a 401 before any rate limit (refusing costs less than counting, and a client is told what
is wrong rather than to wait); a key without the scope is a 403.

The key lookup is one indexed read and a rate-limit take one statement (microseconds on
SQLite and in memory, a loopback or LAN round trip on a shared PostgreSQL), done on the
event loop: cheaper than a hop to the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from simatch.api.deps import ApiSettingsDep, AppState, KeyServiceDep, StateDep
from simatch.config import ApiSettings
from simatch.domain.audit import Actor
from simatch.domain.keys import ApiKey, Scope
from simatch.errors import Forbidden, Unauthenticated

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A key from `simatch keys create`, sent as `Authorization: Bearer KEY`.",
)


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None
    address: str

    @property
    def actor(self) -> Actor:
        """Who the audit trail names for a change this caller makes."""
        if self.key is None:
            return Actor(name=f"anonymous {self.address}", via="api")
        return Actor(name=self.key.name, via="api", key_id=self.key.id)


async def get_caller(
    request: Request,
    state: StateDep,
    keys: KeyServiceDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller:
    address = request.client.host if request.client else "unknown"
    header = request.headers.get("authorization")
    if header is None:
        return Caller(None, address)
    scheme, _, token = header.partition(" ")
    key = None
    if scheme.lower() == "bearer" and token.strip():
        key = keys.authenticate(token.strip())
    if key is None:
        # Failed attempts count against the address: guessing keys is rate limited too.
        state.client_limiter.hit(f"addr:{address}")
        raise Unauthenticated(
            "The API key is unknown or revoked; send 'Authorization: Bearer KEY'."
        )
    request.state.key_id = key.id
    return Caller(key, address)


CallerDep = Annotated[Caller, Depends(get_caller)]


def check_scope(caller: Caller, scope: Scope) -> None:
    if caller.key is None:
        raise Unauthenticated(
            f"This needs an API key with scope '{scope}'; send 'Authorization: Bearer KEY'.",
            {"required_scope": scope},
        )
    if not caller.key.allows(scope):
        raise Forbidden(
            f"The key '{caller.key.name}' lacks the scope '{scope}'.",
            {"required_scope": scope, "scopes": list(caller.key.scopes)},
        )


@dataclass(frozen=True)
class Access:
    """Who may call an operation. Each /v1 route declares one (``MatchAccess``,
    ``CurateAccess``, ``AdminAccess``); the OpenAPI schema's security is derived from it."""

    scope: Scope
    configurable: bool = False  # open unless SIMATCH_REQUIRE_KEY_FOR_MATCH

    def needs_key(self, settings: ApiSettings) -> bool:
        return not self.configurable or settings.require_key_for_match


_ACCESS: dict[Callable[..., object], Access] = {}


def access_dependency(
    access: Access,
) -> Callable[[Caller, ApiSettings, AppState], Awaitable[Caller]]:
    async def dependency(caller: CallerDep, settings: ApiSettingsDep, state: StateDep) -> Caller:
        needs_key = access.needs_key(settings)
        if caller.key is None:
            if needs_key:
                check_scope(caller, access.scope)  # 401
            state.client_limiter.hit(f"addr:{caller.address}")
        else:
            state.key_limiter.hit(f"key:{caller.key.id}")
            if needs_key:
                check_scope(caller, access.scope)  # 403 without the scope
        return caller

    _ACCESS[dependency] = access
    return dependency


def access_of(call: Callable[..., object] | None) -> Access | None:
    """The access a dependency declares, if it is one of ``access_dependency``'s."""
    return _ACCESS.get(call) if call is not None else None


# Matching, feedback and reading records: open unless SIMATCH_REQUIRE_KEY_FOR_MATCH.
MatchAccess = Annotated[Caller, Depends(access_dependency(Access("match", configurable=True)))]
CurateAccess = Annotated[Caller, Depends(access_dependency(Access("curate")))]
AdminAccess = Annotated[Caller, Depends(access_dependency(Access("admin")))]
