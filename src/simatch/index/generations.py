"""Builds of one collection side by side, and which one serves (``IndexGenerations``).

``simatch reindex`` builds the whole index again into a new build beside the serving one and
switches a pointer when the build is complete. The first build keeps the collection's own
name (indexes made before rebuilds existed are the current build as they are); rebuilds are
named ``<collection>_r<n>``.

- Embedded (qdrant-edge): a build is a directory under ``<data_dir>/index``; the pointer is
  the file ``<collection>.current`` holding the current build's name, replaced atomically.
- Qdrant server: a build is a collection with its ``__meta`` and ``__content`` collections;
  the pointer is one point in ``<collection>__current``, a single upsert.

A process reads the pointer when it builds its index (``index.factory``); a running server
looks again every few seconds and moves to a new build of its own model between requests
(``index.live``, ``services.index_builds``): never to another model's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from simatch.domain.ports import IndexMeta, VectorIndex
from simatch.errors import ConfigError
from simatch.index.schema import CollectionSchema

REBUILD = "_r"  # <collection>_r<n>


def _numbered(base: str, names: list[str]) -> str:
    pattern = re.compile(re.escape(base) + re.escape(REBUILD) + r"(\d+)$")
    numbers = [int(m.group(1)) for n in names if (m := pattern.match(n))]
    return f"{base}{REBUILD}{max(numbers, default=0) + 1}"


def _is_build(base: str, name: str) -> bool:
    return (
        name == base
        or re.fullmatch(re.escape(base) + re.escape(REBUILD) + r"\d+", name) is not None
    )


class EdgeGenerations:
    def __init__(
        self,
        root: Path,
        base: str,
        schema: CollectionSchema,
        search_threads: int | None,
        settle_ties: bool = False,
    ) -> None:
        self.root = root
        self.base = base
        self._schema = schema
        self._search_threads = search_threads
        self._settle_ties = settle_ties

    @property
    def pointer(self) -> Path:
        return self.root / f"{self.base}.current"

    def current(self) -> str:
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return self.base
        if not _is_build(self.base, name):
            raise ConfigError(f"{self.pointer} names no build of {self.base!r}: {name!r}")
        return name

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and _is_build(self.base, p.name)
        )

    def next_name(self) -> str:
        return _numbered(self.base, self.names())

    def build(self, name: str) -> VectorIndex:
        from simatch.index.qdrant_edge import EdgeIndex

        return EdgeIndex(self.root / name, self._schema, self._search_threads, self._settle_ties)

    def stored_meta(self, name: str) -> IndexMeta | None:
        from simatch.index.qdrant_edge import EdgeIndex

        return EdgeIndex(self.root / name, self._schema).stored_meta()

    def switch(self, name: str) -> None:
        if name not in self.names():
            raise ConfigError(f"no build {name!r} under {self.root}")
        tmp = self.pointer.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)  # atomic: the old name or the new, never half of one
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)

    def drop(self, name: str) -> None:
        if name == self.current():
            raise ConfigError(f"{name!r} is the current build of {self.base!r}")
        shutil.rmtree(self.root / name, ignore_errors=True)

    def close(self) -> None:
        """Nothing to release: each build is a directory of its own."""


class ServerGenerations:
    """Builds as collections of one Qdrant server (or of qdrant-client's local mode)."""

    def __init__(
        self, client: object, base: str, schema: CollectionSchema, settle_ties: bool = False
    ) -> None:
        from qdrant_client import QdrantClient

        assert isinstance(client, QdrantClient)
        self._client = client
        self.base = base
        self._schema = schema
        self._settle_ties = settle_ties

    @property
    def pointer(self) -> str:
        return f"{self.base}__current"

    def current(self) -> str:
        from simatch.index.qdrant_client import backend_errors

        with backend_errors(self.pointer):
            if not self._client.collection_exists(self.pointer):
                return self.base
            found = self._client.retrieve(self.pointer, ids=[0], with_payload=True)
        name = str((found[0].payload or {}).get("name", "")) if found else ""
        if not name:
            return self.base
        if not _is_build(self.base, name):
            raise ConfigError(
                f"collection {self.pointer!r} names no build of {self.base!r}: {name!r}"
            )
        return name

    def names(self) -> list[str]:
        from simatch.index.qdrant_client import backend_errors

        with backend_errors(self.base):
            collections = [c.name for c in self._client.get_collections().collections]
        # A build is there once any of its collections is (the meta one is written first).
        builds = {c.removesuffix("__meta").removesuffix("__content") for c in collections}
        return sorted(n for n in builds if _is_build(self.base, n))

    def next_name(self) -> str:
        return _numbered(self.base, self.names())

    def build(self, name: str) -> VectorIndex:
        from simatch.index.qdrant_client import ServerIndex

        # The builds share this client: closing one must not close it for the others.
        return ServerIndex(
            self._client, name, self._schema, owns_client=False, settle_ties=self._settle_ties
        )

    def stored_meta(self, name: str) -> IndexMeta | None:
        from simatch.index.qdrant_client import ServerIndex

        return ServerIndex(self._client, name, self._schema, owns_client=False).stored_meta()

    def switch(self, name: str) -> None:
        from qdrant_client import models

        from simatch.index.qdrant_client import backend_errors

        if name not in self.names():
            raise ConfigError(f"no build {name!r} of collection {self.base!r}")
        with backend_errors(self.pointer):
            if not self._client.collection_exists(self.pointer):
                self._client.create_collection(
                    self.pointer,
                    vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT),
                )
            point = models.PointStruct(id=0, vector=[1.0], payload={"name": name})
            self._client.upsert(self.pointer, points=[point], wait=True)

    def drop(self, name: str) -> None:
        from simatch.index.qdrant_client import backend_errors

        if name == self.current():
            raise ConfigError(f"{name!r} is the current build of {self.base!r}")
        with backend_errors(name):
            for collection in (name, f"{name}__content", f"{name}__meta"):
                if self._client.collection_exists(collection):
                    self._client.delete_collection(collection)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing must never fail a shutdown
            self._client.close()
