"""Background work yields the cores to requests.

On two cores, a background import's embedding workers and pipeline threads would take both
and a match would wait its turn for a core (p95 7.6x idle, benchmarks/README.md). A thread
that runs background work lowers its own scheduling priority (its nice value; Linux keeps
one per thread) and every thread it starts inherits it: the pipeline's stage threads and
the embedding workers, which are started by the call that uses them. The kernel then runs a
request's thread as soon as it is ready and gives the background the rest.

Only Linux is covered: elsewhere ``setpriority`` on a thread id would renice the whole
process, requests included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

BACKGROUND_NICE = 19  # the lowest priority: the background gets what requests leave
MAX_PAUSE_S = 0.05  # the longest a background step waits for requests in one go


def lower_this_thread(nice: int = BACKGROUND_NICE) -> bool:
    """Give the calling thread (and the threads it starts from now on) the nice value
    ``nice`` unless it is already lower in priority; True when the thread runs at it.
    A thread cannot raise its priority again without privileges, so call this only on a
    thread that does nothing but background work."""
    if sys.platform != "linux":
        return False
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError as exc:  # a container that forbids it: run at normal priority
        log.warning("could not lower the priority of a background thread: %s", exc)
        return False
    return True


def in_background() -> bool:
    """Whether the calling thread runs background work (a lowered priority)."""
    if sys.platform != "linux":
        return False
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) > 0
    except OSError:
        return False


class RequestsFirst:
    """Requests in flight, and a pause for background threads while there are any.

    A lower priority gives a request the cores but not the GIL: the background's Python
    work (text analysis, near-duplicate checks, index writes) still takes turns with the
    request's Python every few hundred microseconds (``sys.setswitchinterval``) and slows
    it down. So background work calls ``pause()`` between small steps (a record, a write):
    while a request is being answered it waits, at most ``max_pause_s`` at a time so that
    it never starves, and goes on as soon as none is.
    """

    def __init__(self, max_pause_s: float = MAX_PAUSE_S) -> None:
        self.max_pause_s = max_pause_s
        self._serving = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Around the answering of one request."""
        with self._idle:
            self._serving += 1
        try:
            yield
        finally:
            with self._idle:
                self._serving -= 1
                if not self._serving:
                    self._idle.notify_all()

    def pause(self) -> None:
        """In background threads: wait while requests are being answered (foreground
        threads go on at once)."""
        if not self._serving or not in_background():
            return
        with self._idle:
            self._idle.wait_for(lambda: not self._serving, self.max_pause_s)
