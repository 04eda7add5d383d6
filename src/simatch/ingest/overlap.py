"""Batches through stages that overlap: while one batch is embedded, the next is analysed and
the previous one written. One thread per stage after the first (the caller's, which reads the
source: an upload can only be read from the thread that reads it), queues of ``depth``
batches between them, so memory holds a few batches however long the source is.

It pays because the slow stage, embedding, runs in native code without the GIL (torch's
scripted forward pass, the index engine's writes), so the Python work of the other stages
(text analysis, near-duplicate checks) fills the gaps instead of waiting its turn.

While stages overlap, the interpreter's switch interval is short (``SWITCH_INTERVAL_S``, as
``simatch serve`` sets it for good): an embedding worker that finished a batch in native
code needs the GIL back for a moment before it can start the next, and with the default
5 ms it waits that long behind a stage thread running Python, a core idle meanwhile.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

B = TypeVar("B")
_DONE = object()
SWITCH_INTERVAL_S = 0.0002
_switching = threading.Lock()
_overlapping = 0  # overlapped() calls running in this process
_restore: tuple[float, float] | None = None  # (the interval before, the one set)


def overlapped(batches: Iterable[B], stages: Sequence[Callable[[B], B]], depth: int = 2) -> None:
    """Each batch of ``batches`` (produced in this thread) goes through ``stages`` in order;
    batches keep their order in every stage. The first error of any stage stops the reading,
    lets the batches already past that stage finish, and is raised here."""
    failed: list[tuple[int, BaseException]] = []  # (stage, error)
    inboxes: list[queue.Queue[object]] = [queue.Queue(maxsize=depth) for _ in stages]
    threads = [
        threading.Thread(
            target=_serve,
            args=(i, stage, inboxes[i], inboxes[i + 1] if i + 1 < len(stages) else None, failed),
            name=f"ingest-stage-{i + 1}",
            daemon=True,
        )
        for i, stage in enumerate(stages)
    ]
    with short_switch_interval():
        for thread in threads:
            thread.start()
        try:
            for batch in batches:
                if failed:
                    break
                inboxes[0].put(batch)
        finally:
            inboxes[0].put(_DONE)
            for thread in threads:
                thread.join()
    if failed:
        raise failed[0][1]


@contextlib.contextmanager
def short_switch_interval() -> Iterator[None]:
    """``SWITCH_INTERVAL_S`` (or shorter, if set so) while the block runs; the interval
    before is put back when the last overlapping call in the process ends, unless someone
    else changed it meanwhile."""
    global _overlapping, _restore
    with _switching:
        if _overlapping == 0:
            before = sys.getswitchinterval()
            if before > SWITCH_INTERVAL_S:
                sys.setswitchinterval(SWITCH_INTERVAL_S)
                _restore = (before, sys.getswitchinterval())  # as the interpreter keeps it
        _overlapping += 1
    try:
        yield
    finally:
        with _switching:
            _overlapping -= 1
            if _overlapping == 0 and _restore is not None:
                before, ours = _restore
                if sys.getswitchinterval() == ours:
                    sys.setswitchinterval(before)
                _restore = None


def _serve(
    number: int,
    stage: Callable[[B], B],
    inbox: queue.Queue[object],
    outbox: queue.Queue[object] | None,
    failed: list[tuple[int, BaseException]],
) -> None:
    while True:
        item = inbox.get()
        if item is _DONE:
            break
        if any(where >= number for where, _ in failed):
            # This stage or a later one failed: drain, so that the stage before never
            # blocks on a full queue. Batches that got past the failed stage still finish.
            continue
        try:
            result = stage(item)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the caller's thread
            failed.append((number, exc))
            continue
        if outbox is not None:
            outbox.put(result)
    if outbox is not None:
        outbox.put(_DONE)
