"""A step repeated on a thread while a test does something else (matches or writes during a
rebuild): what each step returned, and the first failure, which stops it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Repeating(Generic[T]):
    results: list[T] = field(default_factory=list)
    failed: list[BaseException] = field(default_factory=list)


@contextmanager
def repeating(step: Callable[[], T], pause: float = 0.0) -> Iterator[Repeating[T]]:
    """Run ``step`` back to back (``pause`` s between) until the block ends; joined on exit."""
    state: Repeating[T] = Repeating()
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            try:
                state.results.append(step())
            except BaseException as exc:  # reported by the test
                state.failed.append(exc)
                return
            done.wait(pause)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield state
    finally:
        done.set()
        thread.join(30)
