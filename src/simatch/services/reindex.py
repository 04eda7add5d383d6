"""Rebuilding the index with the current model and runtime (``simatch reindex``).

An index built with another model is refused when it is opened (``ModelMismatch``), so a
model or runtime change is made explicit: ``run`` reads every stored record from the build
that serves, imports them through the current model into a new build beside it (a new
collection on a Qdrant server, a new directory for the embedded index;
``IndexGenerations``), and switches over in one atomic step when the new build is complete.

- Until the switch, the serving build is untouched: matches keep being answered from it,
  with the model it was built with. Processes that open the index after the switch open
  the new build; a running server moves to it between requests when it was made with the
  server's own model and text analysis, and otherwise keeps its build until it is
  restarted with the new settings (``services.index_builds``), so no process ever mixes
  two models' vectors.
- Records are read twice: the second pass picks up what was imported or changed during the
  first (unchanged ones are skipped by their content hash), and records deleted meanwhile
  are deleted from the new build.
- Interrupted (killed, failed), nothing switched: the old build still serves. Running it
  again resumes the unfinished build (what landed is skipped by content hash).
- Other unfinished or replaced builds are deleted when a reindex starts; the one it
  replaces is kept until the next reindex, for processes still serving from it.
- Embedded index: one process opens a build, so run it with the server stopped, or hand
  ``run`` the index that the serving process has open (``source``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from simatch.domain.ports import IndexGenerations, IndexMeta, SearchFilter, VectorIndex
from simatch.errors import Conflict
from simatch.ingest.pipeline import Ingestor
from simatch.ingest.readers import RawRow
from simatch.ingest.report import IngestReport

log = logging.getLogger(__name__)

PAGE = 256  # records read from the serving build per scroll
Progress = Callable[[str, int], None]  # the pass ("copy" or "catch up"), records read in it


@dataclass(frozen=True)
class ReindexReport:
    build: str  # the new current build
    previous: str  # the build it replaced (kept until the next reindex)
    records: int  # in the new build
    embedded: int  # texts the model embedded (the rest came from the embedding cache)
    caught_up: int  # records added or changed during the copy, taken in the second pass
    removed: int  # records deleted during the copy
    resumed: bool  # an interrupted reindex was finished
    seconds: float


class ReindexService:
    def __init__(
        self,
        generations: IndexGenerations,
        meta: IndexMeta,
        ingestor_for: Callable[[VectorIndex], Ingestor],
    ) -> None:
        """``meta``: what the current settings build (model, text analysis, centring);
        ``ingestor_for``: an ingestor writing into a given index with the current model."""
        self.generations = generations
        self.meta = meta
        self.ingestor_for = ingestor_for

    def run(
        self,
        source: VectorIndex | None = None,
        progress: Progress | None = None,
        *,
        last_look: Callable[[], AbstractContextManager[object]] | None = None,
        cancel: threading.Event | None = None,
    ) -> ReindexReport:
        """Rebuild and switch. ``source``: the serving build, when this process has it open
        already (it stays open); otherwise it is opened here, read, and closed.
        ``last_look``: around a last catch-up pass and the switch; a server holds its
        writes there (and moves to the new build before letting them go), so none is
        left behind in the old build. Once ``cancel`` is set no further record is read and
        ``InterruptedError`` is raised before the switch (a re-run finishes the build)."""
        started = time.perf_counter()
        g = self.generations
        current = g.current()
        stored = g.stored_meta(current)
        if stored is None:
            raise Conflict(f"the index {current!r} has not been built yet: nothing to rebuild")
        target, resumed = self._target(current)
        old = source
        if old is None:
            old = g.build(current)
            old.open(stored)
        new = g.build(target)
        try:
            new.open(self.meta)
            ingestor = self.ingestor_for(new)
            copied = ingestor.ingest(
                self._rows(old), observe=_observer(progress, "copy"), cancel=cancel
            )
            _check(cancel)
            caught_up = ingestor.ingest(
                self._rows(old), observe=_observer(progress, "catch up"), cancel=cancel
            )
            _check(cancel)
            new.optimize()
            with last_look() if last_look is not None else contextlib.nullcontext():
                if last_look is not None:
                    last = ingestor.ingest(self._rows(old), observe=_observer(progress, "last"))
                    caught_up.added += last.added
                    caught_up.updated += last.updated
                    caught_up.embedded += last.embedded
                removed = self._remove_gone(old, new)
                records = new.count()
                new.close()
                g.switch(target)
        finally:
            new.close()
            if source is None:
                old.close()
        log.info("reindex: %s replaces %s (%d records)", target, current, records)
        return ReindexReport(
            build=target,
            previous=current,
            records=records,
            embedded=copied.embedded + caught_up.embedded,
            caught_up=caught_up.added + caught_up.updated,
            removed=removed,
            resumed=resumed,
            seconds=time.perf_counter() - started,
        )

    def _target(self, current: str) -> tuple[str, bool]:
        """An unfinished build made with this meta is resumed; other builds but the current
        one are deleted (earlier attempts with other settings, replaced builds)."""
        g = self.generations
        resume = None
        for name in g.names():
            if name == current:
                continue
            if resume is None and g.stored_meta(name) == self.meta:
                resume = name
            else:
                g.drop(name)
        return (resume, True) if resume is not None else (g.next_name(), False)

    @staticmethod
    def _rows(index: VectorIndex) -> Iterator[RawRow]:
        """Every stored record, as the rows of an import."""
        cursor: str | None = None
        line = 0
        while True:
            page, cursor = index.scroll(SearchFilter(), PAGE, cursor)
            for hit in page:
                line += 1
                yield RawRow("reindex", line, dict(hit.payload["record"]))
            if cursor is None:
                return

    @staticmethod
    def _remove_gone(old: VectorIndex, new: VectorIndex) -> int:
        """Delete from the new build what is no longer in the old one."""
        gone: list[str] = []
        cursor: str | None = None
        while True:
            page, cursor = new.scroll(SearchFilter(), PAGE, cursor)
            keys = [hit.key for hit in page]
            present = old.hashes(keys)
            gone.extend(k for k in keys if k not in present)
            if cursor is None:
                break
        return new.delete(gone) if gone else 0


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise InterruptedError("the reindex was stopped before it switched")


def _observer(progress: Progress | None, stage: str) -> Callable[[IngestReport], None] | None:
    if progress is None:
        return None
    return lambda report: progress(stage, report.read)
