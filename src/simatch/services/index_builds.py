"""A running server moves to the build `simatch reindex` switched to, without a restart.

``simatch reindex`` builds the index again beside the serving build and switches a pointer
when it is complete (``services.reindex``). ``BuildSwitch`` makes a running process follow
the pointer: ``check()`` (every few seconds from ``start()``, and right after a reindex run
in this process) opens the new build, checks that it was made the way this process embeds
and analyses text, and replaces the serving build once the requests in flight have ended
(``ServingIndex``): no request fails, and none reads two builds (a match is pinned to one).

A build made with another model, text analysis or centring is not served: the process
keeps the build it has (its own model's, so it never mixes models) and logs what to do
(restart it with the settings of the new build).

``BackgroundReindex`` runs the reindex inside the server (``POST /v1/index/reindex``): the
embedded index is opened by one process only, so a server on it cannot be rebuilt by
another. It runs at the lowest priority (like a background import), under the ``import``
lock (no import writes meanwhile), and switches this process when it is done. Its last
catch-up pass and the switch run with the server's writes held (a record put then waits a
moment and lands in the new build), so nothing written through the server is left behind.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from simatch.domain.ports import IndexGenerations, IndexMeta, ServingIndex
from simatch.domain.stores import ExclusiveWork
from simatch.errors import Conflict
from simatch.services.background import lower_this_thread
from simatch.services.imports import IMPORT_LOCK
from simatch.services.reindex import ReindexReport, ReindexService

log = logging.getLogger(__name__)

LOCK_POLL_S = 0.5


class BuildSwitch:
    def __init__(
        self,
        generations: IndexGenerations,
        serving: ServingIndex,
        meta: IndexMeta,
        interval: float = 5.0,
    ) -> None:
        """``meta``: how this process embeds and analyses (``Container.index_meta``);
        ``interval``: seconds between looks at the pointer (0: only when asked)."""
        self.generations = generations
        self.serving = serving
        self.meta = meta
        self.interval = interval
        self._lock = threading.Lock()  # one check at a time
        self._refused: set[str] = set()  # builds not served, logged once each
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> str | None:
        """Serve the build the pointer names if it is not the serving one; returns its name
        when this call switched."""
        with self._lock:
            target = self.generations.current()
            if target == self.serving.name or target in self._refused:
                return None
            stored = self.generations.stored_meta(target)
            if stored != self.meta:
                self._refused.add(target)
                log.warning(
                    "index build %s is current but was made with %s, and this process uses "
                    "%s: it keeps serving %s; restart it with the new build's settings",
                    target,
                    stored,
                    self.meta,
                    self.serving.name,
                )
                return None
            build = self.generations.build(target)
            build.open(self.meta)
            previous = self.serving.name
            old = self.serving.replace(target, build)
            old.close()
            log.info("index: now serving build %s (was %s)", target, previous)
            return target

    def start(self) -> None:
        """Look at the pointer every ``interval`` seconds, in a thread, until ``stop()``."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, name="index-builds", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _watch(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.check()
            except Exception:  # a backend hiccup: the serving build stays, try again later
                log.exception("index: could not check for a new build")


ReindexStatus = Literal["idle", "running", "ok", "failed"]


@dataclass(frozen=True)
class ReindexState:
    status: ReindexStatus = "idle"
    stage: str | None = None  # "waiting" (for an import), "copy", "catch up", "last"
    read: int = 0  # records read in the stage
    started_at: datetime | None = None
    finished_at: datetime | None = None
    report: ReindexReport | None = None
    error: str | None = None


class BackgroundReindex:
    """One reindex at a time in this process, in a background thread."""

    def __init__(
        self,
        reindex: Callable[[], ReindexService],
        serving: ServingIndex,
        switch: BuildSwitch,
        locks: ExclusiveWork | None = None,
    ) -> None:
        self._reindex = reindex
        self.serving = serving
        self.switch = switch
        self.locks = locks
        self._state = ReindexState()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def state(self) -> ReindexState:
        return self._state

    def start(self) -> ReindexState:
        """Start a reindex now; Conflict while one runs."""
        with self._guard:
            if self._state.status == "running":
                raise Conflict("a reindex is already running")
            self._state = ReindexState("running", "waiting", started_at=_now())
            self._thread = threading.Thread(target=self._run, name="reindex", daemon=True)
            self._thread.start()
            return self._state

    def stop(self, timeout: float = 10.0) -> None:
        """When the server stops: a running reindex stops reading and ends before its
        switch (the old build keeps serving; starting it again finishes the build)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def wait(self, timeout: float | None = None) -> ReindexState:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._state

    def _run(self) -> None:
        lower_this_thread()  # like a background import: requests first
        try:
            with _import_lock(self.locks, self._stopping):
                report = self._reindex().run(
                    source=self.serving.build,
                    progress=self._progress,
                    last_look=self._last_look,
                    cancel=self._stopping,
                )
        except Exception as exc:
            if self._stopping.is_set():  # the server stops: expected, resumable
                log.warning("reindex stopped with the server before it switched: %s", exc)
            else:
                log.exception("reindex failed")
            self._set(status="failed", finished_at=_now(), error=f"{type(exc).__name__}: {exc}")
            return
        self._set(status="ok", stage=None, finished_at=_now(), report=report)

    @contextmanager
    def _last_look(self) -> Iterator[None]:
        """Writes wait while the rebuild catches up one last time and switches, and until
        this process serves the new build: none lands in the old build after its last look."""
        with self.serving.writes_held():
            yield
            self.switch.check()

    def _progress(self, stage: str, read: int) -> None:
        self._set(stage=stage, read=read)

    def _set(self, **changes: object) -> None:
        with self._guard:
            self._state = replace(self._state, **changes)  # type: ignore[arg-type]


@contextmanager
def _import_lock(locks: ExclusiveWork | None, stopping: threading.Event) -> Iterator[None]:
    """The ``import`` lock for the block, once no import writes."""
    if locks is None:
        yield
        return
    while True:
        with locks.exclusive(IMPORT_LOCK) as taken:
            if taken:
                yield
                return
        if stopping.wait(LOCK_POLL_S):
            raise InterruptedError("the server stopped while the reindex waited for an import")


def _now() -> datetime:
    return datetime.now(UTC)
