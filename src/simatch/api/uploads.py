"""Request bodies read as blocking files by a worker thread, chunk by chunk (never whole).

``BodyFile`` lets the synchronous ingest pipeline (``read_stream`` -> ``Ingestor.ingest``)
pull the upload while it arrives: each ``read`` asks the event loop for the next chunk,
so memory holds one chunk and one ingest batch however large the file is (wrap it in an
``io.BufferedReader`` for line reading).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import anyio.from_thread


class BodyFile(io.RawIOBase):
    """A raw, readable file over an async chunk iterator; use from an anyio worker thread."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""
        self._done = False
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._pending = chunk
                self.bytes_read += len(chunk)
        if not self._pending:
            return 0
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
