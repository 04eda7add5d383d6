"""Calibration (confidence from measured distributions) and per-language centring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simatch.domain.centring import fit_centring, load_centring, save_centring
from simatch.domain.confidence import Calibration, load_calibration, save_calibration

CALIBRATED = Calibration(
    model_id="m",
    strong=0.7,
    possible=0.2,
    duplicate=0.39,
    similarity_floor=0.35,
    weights=(10.0, 20.0, -25.0),
    extra={"commit": "abc"},
)


def test_probability_rises_with_similarity_and_rank_score() -> None:
    assert CALIBRATED.probability(0.5, 1.0) > CALIBRATED.probability(0.4, 1.0)
    assert CALIBRATED.probability(0.5, 1.0) > CALIBRATED.probability(0.5, 0.9)
    assert 0.0 < CALIBRATED.probability(-5.0, 0.0) < 1e-6


def test_levels_are_cut_offs_on_the_probability() -> None:
    assert CALIBRATED.classify(0.60, 1.0) == "strong"  # p = 0.73
    assert CALIBRATED.classify(0.50, 0.95) == "possible"  # p = 0.27
    assert CALIBRATED.classify(0.45, 0.95) == "weak"  # p = 0.18
    assert CALIBRATED.classify(0.30, 0.90) == "weak"


def test_the_floor_says_when_nothing_fits() -> None:
    assert CALIBRATED.nothing_fits(0.34)
    assert not CALIBRATED.nothing_fits(0.36)
    assert not Calibration("m", 0.8, 0.78).nothing_fits(0.0)


def test_without_weights_the_cut_offs_apply_to_the_similarity() -> None:
    legacy = Calibration("m", strong=0.82, possible=0.79)
    assert legacy.classify(0.83) == "strong"
    assert legacy.classify(0.80) == "possible"
    assert legacy.classify(0.70) == "weak"


def test_calibration_round_trip_keeps_other_models(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    save_calibration(path, Calibration("other", 0.8, 0.7))
    save_calibration(path, CALIBRATED)
    loaded = load_calibration(path, "m")
    assert loaded == CALIBRATED
    assert loaded is not None and loaded.extra == {"commit": "abc"}
    assert load_calibration(path, "other") is not None
    assert load_calibration(path, "missing") is None
    assert load_calibration(tmp_path / "none.json", "m") is None


def _unit(rows: np.ndarray) -> np.ndarray:
    unit: np.ndarray = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_centring_removes_the_language_direction(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    topics = rng.normal(size=(50, 16))
    fi_dir, en_dir = np.eye(16)[0] * 4, np.eye(16)[1] * 4
    fi = _unit(topics + fi_dir)
    en = _unit(topics + en_dir)
    centring = fit_centring("m", {"fi": fi, "en": en}, {"fi": fi, "en": en}, "test", "today")
    # Raw: a Finnish text is closer to an unrelated Finnish text than to its English twin.
    assert float(fi[0] @ fi[1]) > float(fi[0] @ en[0])
    q = centring.centre_query(fi[0], "fi")
    docs = centring.centre_documents(np.stack([fi[1], en[0]]), ["fi", "en"])
    assert float(q @ docs[1]) > float(q @ docs[0])
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    # Swedish has no mean of its own: the average of the others is used.
    assert centring.centre_query(fi[0], "sv").shape == (16,)

    path = tmp_path / "language_means.json"
    save_centring(path, centring)
    loaded = load_centring(path, "m")
    assert loaded is not None and loaded.signature == centring.signature
    assert loaded.signature.startswith("centred:")
    assert load_centring(path, "other") is None


@pytest.mark.parametrize("language", ["fi", "en", "sv"])
def test_centred_vectors_are_unit_length(language: str) -> None:
    vectors = _unit(np.random.default_rng(1).normal(size=(3, 8)))
    centring = fit_centring("m", {"fi": vectors, "en": vectors[::-1]}, {"fi": vectors}, "", "")
    out = centring.centre_documents(vectors, [language] * 3)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
