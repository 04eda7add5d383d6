"""One PostgreSQL database shared by every replica: a connection pool, the mapping of driver
errors to simatch's error tree, and advisory locks for work that one replica does at a time."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors

from simatch.errors import BackendUnavailable, Conflict, InvalidInput

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[Any, ...]]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (the same in every process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def mapped_errors() -> Iterator[None]:
    """Driver errors as simatch errors: an unreachable server is a 503 to retry, a unique
    violation a conflict, bad data invalid input; anything else stays a bug."""
    try:
        yield
    except pg_errors.UniqueViolation as exc:
        raise Conflict(f"already stored: {exc.diag.message_detail or exc}") from exc
    except (pg_errors.DataError, pg_errors.IntegrityError) as exc:
        raise InvalidInput(f"the database refused the value: {exc}") from exc
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        raise BackendUnavailable(f"the state database cannot be reached: {exc}") from exc


class Database:
    """A pool of autocommit connections: one statement is one transaction, and
    ``transaction()`` groups several. Thread-safe; built once per process (wiring)."""

    def __init__(self, url: str, *, max_size: int = 10, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            # A connection is checked when taken (one empty round trip): after a database
            # restart or failover, requests get fresh connections instead of 503s.
            check=psycopg_pool.ConnectionPool.check_connection,
            open=False,
            name="simatch",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise BackendUnavailable(
                f"the state database (SIMATCH_DATABASE_URL) cannot be reached within {timeout:g} s"
            ) from exc

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection in autocommit mode."""
        with mapped_errors(), self._pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed at the end, rolled back on error."""
        with self.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def advisory_lock(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold the cluster-wide lock ``name`` for the block; yields whether it was taken
        (``wait=False`` does not wait: False when another process holds it). The lock lives
        on one connection, so a process that dies releases it with its connection."""
        key = lock_key(name)
        with self.connection() as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                taken = True
            else:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                taken = bool(row and row[0])
            try:
                yield taken
            finally:
                if taken:
                    try:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    except psycopg.Error:  # a broken connection has released it already
                        log.warning("advisory lock %r: connection lost before unlock", name)

    def close(self) -> None:
        self._pool.close()
