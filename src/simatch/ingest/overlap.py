"""Batches through stages that overlap: while one batch is embedded, the next is analysed and
the previous one written. One thread per stage after the first (the caller's, which reads the
source: an upload can only be read from the thread that reads it), queues of ``depth``
batches between them, so memory holds a few batches however long the source is.

It pays because the slow stage, embedding, runs in native code without the GIL (torch's
scripted forward pass, the index engine's writes), so the Python work of the other stages
(text analysis, near-duplicate checks) fills the gaps instead of waiting its turn.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

B = TypeVar("B")
_DONE = object()


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
