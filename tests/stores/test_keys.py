"""The KeyStore contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from simatch.domain.keys import hash_token
from simatch.errors import InvalidInput, NotFound
from simatch.stores.factory import StateBackend, open_key_store
from tests.stores.conftest import Stores


def test_a_key_authenticates_until_revoked(backend: StateBackend) -> None:
    store = open_key_store(backend)
    try:
        key, token = store.create("  staff   UI ", ["curate", "match", "curate"])
        assert key.name == "staff UI"
        assert key.scopes == ("curate", "match")
        found = store.authenticate(token)
        assert found is not None and found.id == key.id and found.allows("match")
        assert not found.allows("admin")
        assert found.last_used is not None
        assert store.authenticate(token + "x") is None
        assert store.authenticate("not-a-key") is None

        revoked = store.revoke(key.id)
        assert revoked.revoked is not None and not revoked.active
        assert store.authenticate(token) is None
        again = store.revoke(key.id)  # the first time is kept
        assert again.revoked == revoked.revoked
    finally:
        store.close()


def test_the_token_is_never_stored(backend: StateBackend) -> None:
    store = open_key_store(backend)
    _, token = store.create("ci", ["match"])
    store.close()
    if backend.database is not None:
        with backend.database.connection() as conn:
            rows = conn.execute("SELECT * FROM api_keys").fetchall()
        text = repr(rows)
    else:
        text = (backend.data_dir / "keys.sqlite").read_bytes().decode("latin-1")
    assert token not in text and hash_token(token) in text


def test_list_get_and_errors(backend: StateBackend) -> None:
    store = open_key_store(backend)
    a, _ = store.create("a", ["admin"])
    b, _ = store.create("b", ["match"])
    store.revoke(b.id)
    assert [k.id for k in store.list()] == [a.id, b.id]
    assert [k.id for k in store.list(include_revoked=False)] == [a.id]
    assert store.get(a.id).scopes == ("admin",)
    with pytest.raises(NotFound):
        store.get("000000000000")
    with pytest.raises(InvalidInput):
        store.create("", ["match"])
    with pytest.raises(InvalidInput):
        store.create("x", ["root"])
    store.close()


def test_last_used_is_written_at_most_once_a_minute(stores: Stores) -> None:
    now = [1_000_000.0]
    store = stores.keys(clock=lambda: now[0])
    key, token = store.create("k", ["match"])
    first = store.authenticate(token)
    assert first is not None and first.last_used is not None
    assert first.last_used.timestamp() == pytest.approx(now[0])
    now[0] += 30
    second = store.authenticate(token)
    assert second is not None and second.last_used == first.last_used
    assert store.get(key.id).last_used == first.last_used
    now[0] += 31
    third = store.authenticate(token)
    assert third is not None and third.last_used is not None
    assert third.last_used.timestamp() == pytest.approx(now[0])
    assert store.get(key.id).last_used == third.last_used


def test_a_key_made_by_one_instance_works_on_another(stores: Stores) -> None:
    """Two processes (a CLI and a server, or two replicas) on the same backend."""
    one, other = stores.keys(clock=lambda: 1e9), stores.keys(clock=lambda: 1e9)
    key, token = one.create("shared", ["curate"])
    found = other.authenticate(token)
    assert found is not None and found.id == key.id
    other.revoke(key.id)
    assert one.authenticate(token) is None
