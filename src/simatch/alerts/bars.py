"""Bars: records already in a followed need's pool that a new record must beat, kept in the
alert store (shared by every process and replica).

A record's dense rank for a need is one plus the number of records of the pool more similar
to the need's question. The screen (``screen``) counts the batch's own records; a bar adds
records indexed before: each (need, pool) keeps up to ``keep`` of the most similar ones it
has seen (key id and similarity). The bar is exact after a reverse match of the need (the
engine's dense hits), and otherwise grows with every batch's records. Counting any records of
the pool gives a lower bound of the rank, so a bar only has to hold records that are still in
the pool with the similarity they have now:

- a record of the batch (changed, withdrawn) is counted from the batch, never from a bar;
- a record deleted from the index clears every bar (``AlertStore.clear_bars``), and a bar read
  before a clear is not written back;
- a call closes at the end of its deadline day, so a bar of calls holds only on the day it was
  made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from simatch.domain.alerts import AlertStore, Bar, key_id


@dataclass
class Loaded:
    """The bars read for one detection."""

    entries: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, datetime]]  # ids, sims, made
    epoch: int


class BarBook:
    def __init__(self, store: AlertStore, keep: int) -> None:
        self.store = store
        self.keep = keep

    def load(self, need_keys: Sequence[str], today: date) -> Loaded:
        bars, epoch = self.store.bars(need_keys)
        entries = {
            (b.need_key, b.pool): (
                np.asarray(b.keys, np.int64),
                np.asarray(b.similarities, np.float64),
                b.made,
            )
            for b in bars
            if b.pool != "call" or b.made.date() == today
        }
        return Loaded(entries, epoch)

    @staticmethod
    def others(loaded: Loaded, need_key: str, pool: str, batch: np.ndarray) -> np.ndarray | None:
        """The bar's similarities of records not in the batch (``batch``: their key ids,
        sorted)."""
        found = loaded.entries.get((need_key, pool))
        if found is None:
            return None
        ids, sims, _ = found
        if not len(batch):
            return sims
        at = np.minimum(np.searchsorted(batch, ids), len(batch) - 1)
        kept: np.ndarray = sims[batch[at] != ids]
        return kept

    def grown(
        self,
        loaded: Loaded,
        pool: str,
        need_keys: Sequence[str],
        columns: Sequence[int],
        similarity: np.ndarray,
        batch_ids: np.ndarray,
        now: datetime,
    ) -> list[Bar]:
        """Bars of these needs (their ``columns`` of ``similarity``: batch records x needs)
        with the batch's records added. All needs at once (a followed need each row): with
        10,000 needs a loop of small array operations per need took about a second."""
        out: list[Bar] = []
        if not len(columns) or not len(batch_ids):
            return out
        keep = min(self.keep, len(batch_ids))
        part = np.ascontiguousarray(similarity[:, np.asarray(columns)].T)  # needs x records
        if keep < part.shape[1]:
            best = np.argpartition(-part, keep - 1, axis=1)[:, :keep]
        else:
            best = np.broadcast_to(np.arange(part.shape[1]), part.shape)
        new_ids = batch_ids[best]
        new_sims = np.take_along_axis(part, best, axis=1).astype(np.float64)
        old_ids, old_sims, made, had = self._old(loaded, pool, need_keys, now)
        # A record of the batch is counted from the batch, never from an old bar.
        batch = np.sort(batch_ids)
        at = np.minimum(np.searchsorted(batch, old_ids), len(batch) - 1)
        stale = (batch[at] == old_ids) & np.isfinite(old_sims)
        old_sims = np.where(stale, -np.inf, old_sims)
        # Nothing of the batch gets in and nothing in the bar changed: not written again.
        full = np.count_nonzero(np.isfinite(old_sims), axis=1) >= self.keep
        least = old_sims.min(axis=1, initial=np.inf)
        unchanged = had & ~stale.any(axis=1) & full & (new_sims.max(axis=1) <= least)
        ids = np.concatenate([old_ids, new_ids], axis=1)
        sims = np.concatenate([old_sims, new_sims], axis=1)
        order = np.argsort(-sims, axis=1, kind="stable")[:, : self.keep]
        ids = np.take_along_axis(ids, order, axis=1)
        sims = np.take_along_axis(sims, order, axis=1)
        lengths = np.count_nonzero(np.isfinite(sims), axis=1)
        for n in np.flatnonzero(~unchanged).tolist():
            length = int(lengths[n])
            out.append(
                Bar(
                    need_keys[n],
                    pool,
                    made[n],
                    tuple(ids[n, :length].tolist()),
                    tuple(sims[n, :length].tolist()),
                )
            )
        return out

    def _old(
        self, loaded: Loaded, pool: str, need_keys: Sequence[str], now: datetime
    ) -> tuple[np.ndarray, np.ndarray, list[datetime], np.ndarray]:
        """The needs' bars read, as rows padded with -inf similarities; when each was made
        (``now`` without one); which needs had one."""
        found = [loaded.entries.get((k, pool)) for k in need_keys]
        width = max((len(f[0]) for f in found if f is not None), default=0)
        ids = np.zeros((len(need_keys), width), np.int64)
        sims = np.full((len(need_keys), width), -np.inf)
        made = [now] * len(need_keys)
        had = np.zeros(len(need_keys), bool)
        for n, entry in enumerate(found):
            if entry is not None:
                bar_ids, bar_sims, made[n] = entry
                ids[n, : len(bar_ids)] = bar_ids
                sims[n, : len(bar_sims)] = bar_sims
                had[n] = True
        return ids, sims, made, had

    def exact(
        self, need_key: str, pool: str, hits: Sequence[tuple[str, float]], now: datetime
    ) -> Bar:
        """The bar from a reverse match's dense hits (the pool's best, now)."""
        ids = np.array([key_id(k) for k, _ in hits], np.int64)
        sims = np.array([s for _, s in hits], np.float64)
        return self._bar(need_key, pool, now, ids, sims)

    def _bar(
        self, need_key: str, pool: str, made: datetime, ids: np.ndarray, sims: np.ndarray
    ) -> Bar:
        order = np.argsort(-sims, kind="stable")[: self.keep]
        return Bar(need_key, pool, made, tuple(ids[order].tolist()), tuple(sims[order].tolist()))

    def forget(self, need_keys: Sequence[str], keys: Sequence[str]) -> None:
        """Records left the index: every bar is cleared (so that no process writes back one
        read before), then kept again without them."""
        bars, _ = self.store.bars(need_keys)
        epoch = self.store.clear_bars()
        gone = np.array([key_id(k) for k in keys], np.int64)
        kept = []
        for bar in bars:
            ids = np.asarray(bar.keys, np.int64)
            mask = ~np.isin(ids, gone)
            sims = np.asarray(bar.similarities, np.float64)
            kept.append(self._bar(bar.need_key, bar.pool, bar.made, ids[mask], sims[mask]))
        self.store.save_bars(kept, epoch)

    def save(self, loaded: Loaded, bars: Sequence[Bar]) -> None:
        if bars:
            self.store.save_bars(bars, loaded.epoch)
