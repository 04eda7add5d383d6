"""Syncing external sources into the index through the ordinary ingest pipeline.

A sync of one source, under its lock:
1. fetch page by page; an item whose source checksum is the one applied last time (and
   whose mapping does not depend on a day that has passed) is skipped: unchanged, and a
   staff edit of it is kept;
2. every other item goes through the import pipeline as a row (validation report with the
   item id, content-hash skip, embedding cache), and its state is recorded once it landed;
3. only when every page was read: items the source no longer offers (or now lists as closed)
   are marked withdrawn (kept for staff, out of matches), unless that would withdraw more
   than ``max_withdraw`` of the source's calls (then the sync fails and withdraws nothing).
A sync that fails or is killed withdraws nothing; re-running it redoes only what had not
landed (upserts by key, content-hash skip), so it ends where one clean sync ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simatch.domain.audit import Actor
from simatch.domain.sources import (
    ItemState,
    Profile,
    Source,
    SourceItem,
    SyncRun,
    SyncStateStore,
)
from simatch.domain.stores import ExclusiveWork
from simatch.errors import Conflict, InvalidInput, NotFound, SimatchError, SourceFailed
from simatch.ingest.readers import RawRow
from simatch.ingest.report import IngestReport
from simatch.services.imports import ImportService
from simatch.services.records import RecordService

log = logging.getLogger("simatch.sources")
Clock = Callable[[], datetime]
MAX_REJECTIONS_KEPT = 200  # per run, in the status; the count is exact


@dataclass(frozen=True)
class SourceStatus:
    name: str
    title: str
    last_run: SyncRun | None
    profile_edited: bool
    items: int  # calls the source brought in and still offers
    withdrawn: int


class SyncService:
    def __init__(
        self,
        sources: dict[str, Source],
        imports: ImportService,
        records: RecordService,
        state: SyncStateStore,
        locks: ExclusiveWork,
        max_withdraw: float = 0.5,
        clock: Clock | None = None,
    ) -> None:
        self.sources = sources
        self.imports = imports
        self.records = records
        self.state = state
        self.locks = locks  # one sync of a source at a time, across processes and replicas
        self.max_withdraw = max_withdraw
        self._clock = clock or (lambda: datetime.now(UTC))
        self._running = threading.Lock()  # one sync at a time in this process

    @property
    def names(self) -> list[str]:
        return list(self.sources)

    def source(self, name: str) -> Source:
        if name not in self.sources:
            raise NotFound(
                f"no source {name!r}; known: {', '.join(self.sources)}", {"source": name}
            )
        return self.sources[name]

    # -- profiles ---------------------------------------------------------------------------

    def profile(self, name: str) -> Profile:
        source = self.source(name)
        return source.check_profile(self.state.profile(name) or source.default_profile())

    def set_profile(self, name: str, profile: Profile | None) -> Profile:
        """Staff edit which items a source takes; None goes back to the default."""
        source = self.source(name)
        if profile is None:
            self.state.set_profile(name, None)
            return source.default_profile()
        if not isinstance(profile, dict):
            raise InvalidInput("a profile is a JSON object", {"field": "profile"})
        checked = source.check_profile(profile)
        self.state.set_profile(name, checked)
        return checked

    # -- status -----------------------------------------------------------------------------

    def status(self) -> list[SourceStatus]:
        result = []
        for name, source in self.sources.items():
            items = self.state.items(name).values()
            result.append(
                SourceStatus(
                    name=name,
                    title=source.title,
                    last_run=self.state.last_run(name),
                    profile_edited=self.state.profile(name) is not None,
                    items=sum(1 for s in items if not s.withdrawn),
                    withdrawn=sum(1 for s in items if s.withdrawn),
                )
            )
        return result

    def withdrawn(self, names: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The calls sources withdrew (kept for staff, never matched), newest first."""
        found = []
        for name in names or self.names:
            self.source(name)
            for state in self.state.items(name).values():
                if not state.withdrawn:
                    continue
                kind, _, record_id = state.key.partition(":")
                try:
                    found.append(self.records.get(kind, record_id))
                except NotFound:
                    continue  # staff deleted it since
        return sorted(found, key=lambda r: str(r.get("withdrawn_at") or ""), reverse=True)

    # -- sync -------------------------------------------------------------------------------

    def sync_all(
        self, names: Sequence[str] = (), max_withdraw: float | None = None
    ) -> list[SyncRun]:
        """Each source in turn; one failing (even with a bug) does not stop the others."""
        runs = []
        for name in names or self.names:
            try:
                runs.append(self.sync(name, max_withdraw=max_withdraw))
            except Conflict as exc:  # another process or replica syncs it right now
                log.info("sync of %s skipped: %s", name, exc.message)
                now = self._clock()
                runs.append(SyncRun(0, name, now, "skipped", now, error=exc.message))
            except Exception as exc:  # recorded in the run when it started; go on
                log.exception("sync of %s stopped", name)
                runs.append(self._not_run(name, exc))
        return runs

    def _not_run(self, name: str, exc: Exception) -> SyncRun:
        last = self.state.last_run(name)
        if last is not None and last.status == "failed" and last.error:
            return last  # the run itself recorded why it stopped
        message = exc.message if isinstance(exc, SimatchError) else f"{type(exc).__name__}: {exc}"
        now = self._clock()
        return SyncRun(0, name, now, status="failed", finished_at=now, error=message)

    def sync(
        self,
        name: str,
        progress: Callable[[int], None] | None = None,
        max_withdraw: float | None = None,
    ) -> SyncRun:
        """Sync one source; a failure is in the run (status ``failed``, ``error``), not raised.
        Raises Conflict when a sync of it is already running (here or in another process).
        ``max_withdraw`` replaces the configured guard for this sync (1.0: no guard)."""
        source = self.source(name)
        if not self._running.acquire(blocking=False):
            raise Conflict("a sync is already running in this process", {"source": name})
        try:
            with self.locks.exclusive(f"sync:{name}") as taken:
                if not taken:
                    raise Conflict(f"a sync of {name} is already running", {"source": name})
                return self._sync(source, progress, max_withdraw)
        finally:
            self._running.release()

    def _sync(
        self,
        source: Source,
        progress: Callable[[int], None] | None,
        max_withdraw: float | None,
    ) -> SyncRun:
        now = self._clock()
        run = self.state.start_run(source.name, now)
        try:
            known = self.state.items(source.name)
            profile = self.profile(source.name)
            seen: set[str] = set()
            for page in source.fetch(profile, now):
                run.counts.duplicates += page.duplicates
                self._apply(source.name, page.items, known, seen, run, now)
                self.state.save_run(run)  # progress, visible in status while it runs
                if progress:
                    progress(len(page.items))
            limit = self.max_withdraw if max_withdraw is None else max_withdraw
            self._withdraw_missing(source.name, known, seen, run, limit)
            run.status = "ok"
        except SourceFailed as exc:
            run.status, run.error = "failed", exc.message
            log.warning("sync of %s failed: %s", source.name, exc.message)
        except SimatchError as exc:
            run.status, run.error = "failed", f"{type(exc).__name__}: {exc.message}"
            log.warning("sync of %s failed: %s", source.name, run.error)
        except Exception as exc:  # a bug or an outage: recorded, then raised
            run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
            run.finished_at = self._clock()
            self.state.save_run(run)
            raise
        run.finished_at = self._clock()
        self.state.save_run(run)
        return run

    def _apply(
        self,
        name: str,
        items: list[SourceItem],
        known: dict[str, ItemState],
        seen: set[str],
        run: SyncRun,
        now: datetime,
    ) -> None:
        rows: list[RawRow] = []
        pending: dict[str, SourceItem] = {}
        today = now.date()
        for position, item in enumerate(items, start=1):
            if item.error is not None or (item.record is None and not item.closed):
                seen.add(item.source_id)  # a bad version does not withdraw the good one
                self._reject(run, item.source_id, item.field, item.error or "not readable")
                continue
            if item.closed:
                run.counts.skipped += 1  # not seen: a known one is withdrawn at the end
                continue
            seen.add(item.source_id)
            state = known.get(item.source_id)
            if (
                state is not None
                and not state.withdrawn
                and state.checksum == item.checksum
                and (state.remap_after is None or state.remap_after >= today)
            ):
                run.counts.unchanged += 1
                continue
            assert item.record is not None
            rows.append(RawRow(source=name, line=position, data=item.record))
            pending[str(item.record.get("id"))] = item
        if not rows:
            return
        report = self.imports.import_rows(rows, f"source:{name}", sync_actor(name))
        self._count(run, report)
        rejected = {r.id for r in report.rejected}
        landed = []
        for record_id, item in pending.items():
            if record_id in rejected:
                continue
            kind = str(item.record.get("kind")) if item.record else "call"
            landed.append(
                ItemState(
                    source=name,
                    source_id=item.source_id,
                    key=f"{kind}:{record_id}",
                    checksum=item.checksum,
                    remap_after=item.remap_after,
                )
            )
        self.state.put_items(landed)
        known.update({s.source_id: s for s in landed})

    def _count(self, run: SyncRun, report: IngestReport) -> None:
        run.counts.added += report.added
        run.counts.updated += report.updated
        run.counts.unchanged += report.unchanged
        run.counts.embedded += report.embedded
        for rejection in report.rejected:
            self._reject(
                run, rejection.id or f"item {rejection.line}", rejection.field, rejection.reason
            )

    def _reject(self, run: SyncRun, item_id: str, field: str | None, reason: str) -> None:
        run.counts.rejected += 1
        if len(run.rejections) < MAX_REJECTIONS_KEPT:
            run.rejections.append({"id": item_id, "field": field, "reason": reason})
        log.info(
            "%s: item %s rejected: %s%s", run.source, item_id, f"{field}: " if field else "", reason
        )

    def _withdraw_missing(
        self, name: str, known: dict[str, ItemState], seen: set[str], run: SyncRun, limit: float
    ) -> None:
        active = [s for s in known.values() if not s.withdrawn]
        gone = [s for s in active if s.source_id not in seen]
        if not gone:
            return
        share = len(gone) / len(active)
        if share > limit and len(gone) > 1:
            raise SourceFailed(
                f"{name}: the source no longer lists {len(gone)} of {len(active)} calls "
                f"({share:.0%}, more than the limit {limit:.0%}, SIMATCH_SYNC_MAX_WITHDRAW); "
                "nothing was withdrawn. If the profile was narrowed on purpose, sync once with "
                "a higher limit (simatch sources sync NAME --max-withdraw 1).",
                {"gone": len(gone), "active": len(active)},
            )
        stamp = self._clock().isoformat(timespec="seconds")
        rows = []
        for position, state in enumerate(gone, start=1):
            kind, _, record_id = state.key.partition(":")
            try:
                record: dict[str, Any] = dict(self.records.get(kind, record_id))
            except NotFound:
                continue  # staff deleted it: nothing to mark
            record["withdrawn_at"] = stamp
            rows.append(RawRow(source=name, line=position, data=record))
        if rows:
            report = self.imports.import_rows(rows, f"source:{name}", sync_actor(name))
            for rejection in report.rejected:
                self._reject(run, rejection.id or "?", rejection.field, rejection.reason)
        self.state.put_items(
            [
                ItemState(s.source, s.source_id, s.key, s.checksum, s.remap_after, withdrawn=True)
                for s in gone
            ]
        )
        run.counts.withdrawn += len(gone)


def sync_actor(name: str) -> Actor:
    """Who the audit trail names for what a sync changes."""
    return Actor(name=f"sync {name}", via="sources")
