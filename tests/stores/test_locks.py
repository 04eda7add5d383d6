"""ExclusiveWork: one holder at a time across every process sharing the state (an advisory
lock on PostgreSQL, a file lock on one machine); a dead holder's lock is free again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from simatch.config import IndexSettings, StateSettings
from simatch.stores.factory import StateBackend, open_state


def other_backend(backend: StateBackend) -> StateBackend:
    """The same state opened again, as another replica would."""
    if backend.database is None:
        return StateBackend(backend.data_dir)
    url = backend.database.url
    return open_state(IndexSettings(data_dir=backend.data_dir), StateSettings(database_url=url))


def test_one_holder_at_a_time(backend: StateBackend) -> None:
    other = other_backend(backend)
    try:
        with backend.exclusive("sync:eu_ft") as taken:
            assert taken
            with other.exclusive("sync:eu_ft") as also:
                assert not also
            with other.exclusive("sync:haeavustuksia") as different:
                assert different
        with other.exclusive("sync:eu_ft") as now_free:
            assert now_free
    finally:
        if other is not backend:
            other.close()


def test_a_killed_holder_frees_the_lock(backend: StateBackend) -> None:
    url = backend.database.url if backend.database is not None else None
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from simatch.config import IndexSettings, StateSettings
        from simatch.stores.factory import open_state
        state = open_state(IndexSettings(data_dir=Path({str(backend.data_dir)!r})),
                           StateSettings(database_url={url!r}))
        with state.exclusive("sync:eu_ft") as taken:
            print("held" if taken else "busy", flush=True)
            time.sleep(60)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with backend.exclusive("sync:eu_ft") as taken:
            assert not taken
        holder.kill()
        holder.wait(10)
        deadline = time.monotonic() + 10
        while True:  # the server notices the dropped connection at once, or nearly
            with backend.exclusive("sync:eu_ft") as taken:
                if taken or time.monotonic() > deadline:
                    break
            time.sleep(0.05)
        assert taken
    finally:
        holder.kill()
        holder.wait(10)
