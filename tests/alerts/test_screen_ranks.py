"""The screen's rank shortcut: all needs of a chunk at once, and ranks counted among a
row's ``candidates`` best only. It must keep every pair that counting every record, need by
need, keeps (a pair it dropped could be one the exact path alerts)."""

from __future__ import annotations

import numpy as np

from simatch.alerts import screen as sc
from simatch.alerts.screen import PoolBatch, Screen
from simatch.domain.confidence import Calibration
from simatch.domain.matcher import MatchTuning


def _above(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    return len(values) - np.searchsorted(ordered, thresholds, side="right")


def _reference(
    screen: Screen,
    sections: np.ndarray,
    dense: np.ndarray,
    lexical: np.ndarray,
    candidates: np.ndarray,
    bar: np.ndarray | None,
) -> np.ndarray:
    """One need, every record counted (the screen before the shortcut)."""
    t = screen.tuning
    sims = dense[candidates]
    ahead_d = _above(dense, sims + sc._DENSE_EPS)
    if bar is not None and bar.size:
        ahead_d = ahead_d + _above(bar, sims + sc._DENSE_EPS)
    rank_d = 1 + ahead_d
    lex = lexical[candidates]
    margin = lex * (1 + sc._LEXICAL_REL) + sc._LEXICAL_ABS
    rank_l = 1 + _above(lexical, margin)
    found_l = lex > sc._LEXICAL_ABS
    dense_part = np.where(rank_d <= t.candidates, t.dense_weight / (t.rrf_k + rank_d), 0)
    lex_part = np.where(
        (rank_l <= t.candidates) & found_l, t.lexical_weight / (t.rrf_k + rank_l), 0
    )
    best = (t.dense_weight + t.lexical_weight) / (t.rrf_k + 1)
    keep = screen._reaches(sims, (dense_part + lex_part) / best)
    dense_only = lex <= 0.0
    for n in np.flatnonzero(keep):
        ahead = (
            (dense > sims[n] + sc._DENSE_EPS)
            & ((lexical > margin[n]) | dense_only[n])
            & (sections == sections[candidates[n]])
        )
        if np.count_nonzero(ahead) >= screen.top:
            keep[n] = False
    return keep


def test_ranks_among_the_best_keep_what_counting_every_record_keeps() -> None:
    rng = np.random.default_rng(7)
    # Few candidates per channel, so that many pairs have that many records ahead.
    tuning = MatchTuning(candidates=6, rrf_k=3)
    calibration = Calibration("m", strong=0.9, possible=0.5, weights=(4.0, 6.0, -7.0))
    screen = Screen(tuning, calibration, "possible", 3, None, 0.0)  # type: ignore[arg-type]
    checked = kept = cut = 0
    for _ in range(20):
        needs, records = 30, int(rng.integers(4, 60))
        # Rounded scores: many ties; some records outside a need's pool (-inf).
        dense = np.round(rng.uniform(-0.2, 0.9, (needs, records)), 2)
        lexical = np.round(rng.exponential(1.0, (needs, records)), 1)
        lexical[rng.random((needs, records)) < 0.3] = 0.0
        outside = rng.random((needs, records)) < 0.1
        dense[outside] = -np.inf
        lexical[outside] = -np.inf
        sections = rng.integers(0, 3, records).astype(np.int8)
        bars = [
            None if rng.random() < 0.3 else np.round(rng.uniform(0, 0.9, rng.integers(0, 8)), 2)
            for _ in range(needs)
        ]
        batch = PoolBatch(
            keys=[f"call:{r}" for r in range(records)],
            sections=sections,
            vectors=np.zeros((records, 1)),
            sparse=[None] * records,
            regions=[frozenset()] * records,
        )
        at, rows = np.nonzero(dense >= 0.0)
        got = screen._keep(batch, dense, lexical, at, rows, sc._padded(bars))
        for need in range(needs):
            mine = at == need
            want = _reference(screen, sections, dense[need], lexical[need], rows[mine], bars[need])
            assert not (want & ~got[mine]).any(), "a pair kept by counting every record dropped"
            assert (want == got[mine]).all()
            checked += int(mine.sum())
            kept += int(want.sum())
            # Pairs with the row's ``candidates`` best all ahead: the shortcut's case.
            sims = dense[need][rows[mine]]
            ahead = np.count_nonzero(dense[need][None, :] > sims[:, None] + 1e-4, axis=1)
            cut += int(np.count_nonzero(ahead >= tuning.candidates))
    assert kept and cut and kept < checked  # the data exercises keeping, dropping, the cut
