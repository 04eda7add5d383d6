"""Work that one process does at a time, on one machine: an exclusive ``flock`` on a file
under the data directory (the kernel releases it when the holder dies)."""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(data_dir: Path, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]  # distinct names stay distinct
    return data_dir / "locks" / f"{safe}-{digest}.lock"


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the lock for the block; yields whether it was taken (``wait=False``: at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            taken = True
        except BlockingIOError:
            taken = False
        try:
            yield taken
        finally:
            if taken:
                fcntl.flock(handle, fcntl.LOCK_UN)
