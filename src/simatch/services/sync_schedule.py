"""Syncs in the background of ``simatch serve``: every SIMATCH_SYNC_INTERVAL seconds and when
staff ask (``POST /v1/sources/sync``), in one thread, so that one sync runs at a time and a
match never waits for one. A sync killed with the server is safe to run again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from simatch.errors import Conflict
from simatch.services.sources import SyncService

log = logging.getLogger("simatch.sources")


class SyncScheduler:
    def __init__(self, service: SyncService, interval: float = 0.0) -> None:
        self.service = service
        self.interval = interval  # seconds; 0 = only when asked
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending: list[str] | None = None
        self._running: list[str] = []
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> list[str]:
        """The sources of the sync under way (empty when idle)."""
        with self._lock:
            return list(self._running)

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="simatch-sync", daemon=True)
                self._thread.start()

    def request(self, names: Sequence[str] = ()) -> list[str]:
        """Sync these sources (all when empty) as soon as possible; Conflict while one runs."""
        chosen = list(names) or self.service.names
        for name in chosen:
            self.service.source(name)  # NotFound for an unknown one, before anything starts
        with self._lock:
            if self._running or self._pending is not None:
                busy = self._running or self._pending or []
                raise Conflict(f"a sync is already running ({', '.join(busy)})", {"running": busy})
            self._pending = chosen
        self.start()
        self._wake.set()
        return chosen

    def stop(self, timeout: float = 1.0) -> None:
        """Stop waiting; a sync under way is left to finish or die with the process."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        self.stop()

    def _loop(self) -> None:
        first = self.interval > 0  # a scheduled server syncs once soon after it starts
        while not self._stop.is_set():
            if not first:
                self._wake.wait(self.interval or None)
            first = False
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                names = self._pending if self._pending is not None else self.service.names
                if self._pending is None and self.interval <= 0:
                    continue  # woken with nothing asked and no schedule
                self._pending, self._running = None, list(names)
            try:
                for run in self.service.sync_all(names):
                    log.info("sync of %s: %s %s", run.source, run.status, run.counts.as_dict())
            except Exception:
                log.exception("background sync stopped")
            finally:
                with self._lock:
                    self._running = []
