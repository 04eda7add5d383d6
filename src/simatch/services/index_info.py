"""What the index holds and whether the service can answer: ``simatch info``, ``/readyz``.

The embedder and the index are reached through callables, so that a probe reports a model
that does not load or an index that does not open instead of failing to be built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from simatch.domain.ports import Embedder, SearchFilter, VectorIndex
from simatch.domain.records import KINDS
from simatch.errors import SimatchError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexInfo:
    backend: str
    model_id: str
    dim: int
    counts: dict[str, int]  # records per kind


class IndexInfoService:
    def __init__(
        self,
        embedder: Callable[[], Embedder],
        index: Callable[[], VectorIndex],
        backend: str,
        state: Callable[[], bool] | None = None,
    ) -> None:
        self._embedder = embedder
        self._index = index
        self.backend = backend
        self._state = state  # pings the shared state store (PostgreSQL), when there is one

    def info(self) -> IndexInfo:
        embedder, index = self._embedder(), self._index()
        counts: dict[str, int] = {kind: index.count(SearchFilter(kinds=(kind,))) for kind in KINDS}
        return IndexInfo(self.backend, embedder.model_id, embedder.dim, counts)

    def is_empty(self) -> bool:
        return self._index().count() == 0

    def readiness(self) -> dict[str, str]:
        """'ok' or a reason per check; opens the index and loads the model when they are not."""
        checks: dict[str, str] = {}
        try:
            self._embedder().load()
            checks["model"] = "ok"
        except Exception as exc:  # a probe reports, it does not fail
            checks["model"] = f"not loaded: {type(exc).__name__}"
        try:
            checks["index"] = "ok" if self._index().ping() else "backend does not answer"
        except SimatchError as exc:
            checks["index"] = f"not open: {exc.code}"
        except Exception as exc:
            log.warning("readiness: index: %s", exc)
            checks["index"] = f"not open: {type(exc).__name__}"
        if self._state is not None:
            try:
                checks["state"] = "ok" if self._state() else "database does not answer"
            except SimatchError as exc:
                checks["state"] = f"not open: {exc.code}"
            except Exception as exc:
                log.warning("readiness: state: %s", exc)
                checks["state"] = f"not open: {type(exc).__name__}"
        return checks
