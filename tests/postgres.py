"""A real PostgreSQL for tests: each test session creates its own uniquely named database on
the local server and drops it afterwards, so parallel runs (other checkouts, CI) never meet.
Registered as a plugin in ``tests/conftest.py``.

- ``pg_url``: the session's database URL. Skipped with the reason when no server answers at
  ``SIMATCH_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``, the
  maintenance database the temporary ones are created from).
- ``fresh_pg_url``: the same database with an empty schema (every table dropped) for a test
  that needs a clean start; the schema is migrated when a store backend opens it.
- ``temporary_database()``: the same as a context manager, for a second database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URL = os.environ.get("SIMATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def server_reachable() -> str | None:
    """None when the server answers, else why not (the skip reason)."""
    import psycopg

    try:
        with _admin_connection():
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL server reachable at {ADMIN_URL} ({first})"


def url_of(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@contextmanager
def temporary_database(prefix: str = "simatch_t") -> Iterator[str]:
    """A new empty database (its URL), dropped afterwards even if connections remain."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_schema(url: str) -> None:
    """Drop every table of the database (a clean start for one test)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    reason = server_reachable()
    if reason is not None:
        pytest.skip(reason)
    with temporary_database() as url:
        yield url


@pytest.fixture
def fresh_pg_url(pg_url: str) -> str:
    empty_schema(pg_url)
    return pg_url
