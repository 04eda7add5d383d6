"""API key management for admins (the same as `simatch keys ...` on the server)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from simatch.api.auth import AdminAccess
from simatch.api.deps import KeyServiceDep
from simatch.api.errors import ERROR_RESPONSES
from simatch.domain.keys import ApiKey, Scope

router = APIRouter(prefix="/v1", tags=["keys"], responses=ERROR_RESPONSES)


class Key(BaseModel):
    id: str
    name: str
    scopes: list[Scope]
    created: datetime
    last_used: datetime | None
    revoked: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> Key:
        return cls(
            id=key.id,
            name=key.name,
            scopes=list(key.scopes),
            created=key.created,
            last_used=key.last_used,
            revoked=key.revoked,
        )


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Who or what uses the key.")
    scopes: list[Scope] = Field(min_length=1, max_length=3)


class NewKey(BaseModel):
    key: Key
    token: str = Field(description="Send as `Authorization: Bearer TOKEN`; shown only now.")


@router.get("/keys", response_model=list[Key], summary="List API keys (never their tokens)")
def list_keys(_caller: AdminAccess, service: KeyServiceDep) -> list[Key]:
    return [Key.of(k) for k in service.list()]


@router.post("/keys", status_code=201, response_model=NewKey, summary="Create an API key")
def create_key(body: KeyRequest, _caller: AdminAccess, service: KeyServiceDep) -> NewKey:
    key, token = service.create(body.name, body.scopes)
    return NewKey(key=Key.of(key), token=token)


@router.delete("/keys/{key_id}", response_model=Key, summary="Revoke an API key")
def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=40)],
    _caller: AdminAccess,
    service: KeyServiceDep,
) -> Key:
    return Key.of(service.revoke(key_id))
