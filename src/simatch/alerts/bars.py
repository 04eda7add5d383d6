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
        with the batch's records added."""
        out: list[Bar] = []
        if not len(columns) or not len(batch_ids):
            return out
        keep = min(self.keep, len(batch_ids))
        cols = np.asarray(columns)
        part = similarity[:, cols]
        best = np.argpartition(-part, keep - 1, axis=0)[:keep] if keep < len(part) else None
        for n, need_key in enumerate(need_keys):
            rows = best[:, n] if best is not None else np.arange(len(part))
            ids = batch_ids[rows]
            sims = part[rows, n].astype(np.float64)
            old = loaded.entries.get((need_key, pool))
            made = now
            if old is not None:
                old_ids, old_sims, made = old
                mask = ~np.isin(old_ids, batch_ids)
                if mask.all() and len(old_sims) >= self.keep and sims.max() <= old_sims.min():
                    continue  # nothing of the batch gets in, nothing in it changed
                ids = np.concatenate([old_ids[mask], ids])
                sims = np.concatenate([old_sims[mask], sims])
            out.append(self._bar(need_key, pool, made, ids, sims))
        return out

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
