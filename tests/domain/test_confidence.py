"""Calibration (confidence from measured distributions) and per-language centring."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from simatch.domain.centring import EXTRA_DIMS, fit_centring, load_centring, save_centring
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


def test_the_rule_can_read_the_similarity_before_the_lift(tmp_path: Path) -> None:
    """Fitted so (issue 10, sixth round), the rule and its floor read the closest item's
    similarity less what its language gained for ranking; older files read it lifted."""
    rule = Calibration("m", 0.7, 0.2, similarity_floor=0.1, fits=(10.0, 0.0, 0.0, -1.0))
    before = replace(rule, fits_before_lift=True)
    assert not rule.nothing_fits(0.15, 1.0, True, lift=0.1)  # lifted 0.15 passes
    assert before.nothing_fits(0.15, 1.0, True, lift=0.1)  # 0.05 before the lift does not
    assert not before.nothing_fits(0.15, 1.0, False)  # no lift: the same similarity
    assert before.nothing_fits(0.19, 1.0, True, lift=0.1)  # below the floor before the lift
    path = tmp_path / "calibration.json"
    save_calibration(path, before)
    loaded = load_calibration(path, "m")
    assert loaded is not None and loaded.fits_before_lift
    save_calibration(path, rule)
    loaded = load_calibration(path, "m")
    assert loaded is not None and not loaded.fits_before_lift


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
    fi_dir, en_dir = np.eye(16)[0] * 3.5, np.eye(16)[1] * 3.5
    fi = _unit(topics + fi_dir)
    en = _unit(topics + en_dir)
    offsets = {"fi": 0.2, "en": 0.15}
    centring = fit_centring(
        "m", {"fi": fi, "en": en}, {"fi": fi, "en": en}, "test", "today", offsets=offsets
    )
    # Raw: a Finnish text is closer to an unrelated Finnish text than to its English twin.
    assert float(fi[0] @ fi[1]) > float(fi[0] @ en[0])
    q = centring.centre_query(fi[0], "fi")
    docs = centring.centre_documents(np.stack([fi[1], en[0]]), ["fi", "en"])
    assert q.shape == docs[0].shape == (16 + EXTRA_DIMS,)
    assert float(q @ docs[1]) > float(q @ docs[0])
    # Without a lift, removing the shared direction alone leaves the languages apart here.
    plain = replace(centring, offsets={})
    q0 = plain.centre_query(fi[0], "fi")
    docs0 = plain.centre_documents(np.stack([fi[1], en[0]]), ["fi", "en"])
    assert float(q0 @ docs0[1]) < float(q0 @ docs0[0])
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    # Swedish has no lift of its own: the mean of the others; every question is unit length.
    for language in ("fi", "en", "sv"):
        assert np.linalg.norm(centring.centre_query(fi[0], language)) == pytest.approx(
            1.0, abs=1e-5
        )

    path = tmp_path / "language_means.json"
    save_centring(path, centring)
    loaded = load_centring(path, "m")
    assert loaded is not None and loaded.signature == centring.signature
    assert loaded.offsets == offsets
    assert loaded.signature.startswith("lifted:")
    assert load_centring(path, "other") is None
    assert replace(centring, offsets={"fi": 0.1}).signature != centring.signature


def test_the_index_cosine_is_the_common_centred_cosine_plus_the_lift() -> None:
    """Exact in one search: within a language the ranking is the common-centred cosine; a
    record in another language gains exactly the question language's lift."""
    rng = np.random.default_rng(2)
    fi, en = _unit(rng.normal(size=(20, 8))), _unit(rng.normal(size=(20, 8)))
    centring = fit_centring("m", {"fi": fi, "en": en}, {"fi": fi, "en": en}, "", "", {"fi": 0.2})
    common_q = (fi.mean(axis=0) + en.mean(axis=0)) / 2
    q_raw, docs_raw = fi[0], np.stack([fi[1], en[2], en[3]])
    q = centring.centre_query(q_raw, "fi")
    docs = centring.centre_documents(docs_raw, ["fi", "en", "sv"])
    plain_q = _unit((q_raw - common_q)[None, :])[0]
    plain_d = _unit(docs_raw - common_q)  # documents' means equal the questions' here
    expected = plain_d @ plain_q + np.array([0.0, 0.2, 0.2])
    assert np.allclose(docs @ q, centring.scale * expected, atol=1e-5)
    # An English question lifts Finnish records by the mean of the lifts given (0.2 here).
    q_en = centring.centre_query(en[0], "en")
    assert float(q_en @ docs[0]) - float(
        q_en @ centring.centre_documents(docs_raw[:1], ["en"])[0]
    ) == pytest.approx(centring.scale * 0.2, abs=1e-5)


def test_a_question_can_leave_its_own_language_out_against_other_languages() -> None:
    rng = np.random.default_rng(4)
    fi, en = _unit(rng.normal(size=(20, 8)) + 1.0), _unit(rng.normal(size=(20, 8)))
    means = ({"fi": fi, "en": en}, {"fi": fi, "en": en})
    centring = fit_centring("m", *means, "", "", {"fi": 0.1}, drop_own={"fi": 1.0})
    assert centring.spread["fi"] > 0 and centring.spread["en"] > 0
    q = centring.centre_query(fi[0], "fi")
    docs = centring.centre_documents(np.stack([fi[1], en[2], en[2]]), ["fi", "en", "sv"])
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-5)
    common = (fi.mean(axis=0) + en.mean(axis=0)) / 2
    plain_q = _unit((fi[0] - common)[None, :])[0]
    plain_d = _unit(np.stack([fi[1], en[2], en[2]]) - common)
    own = fi.mean(axis=0) - common  # the Finnish questions' own direction
    drop = (plain_d @ own) / centring.spread["fi"] * np.array([0.0, 1.0, 1.0])
    expected = plain_d @ plain_q + np.array([0.0, 0.1, 0.1]) - drop
    assert np.allclose(docs @ q, centring.scale * expected, atol=1e-4)
    # English questions drop nothing: their cosine is the centred one plus the lift.
    q_en = centring.centre_query(en[0], "en")
    plain_en = _unit((en[0] - common)[None, :])[0]
    assert np.allclose(
        docs @ q_en, centring.scale * (plain_d @ plain_en + [0.1, 0.0, 0.1]), atol=1e-4
    )
    with pytest.raises(ValueError, match="spread"):
        replace(centring, drop_own={"sv": 1.0})


def test_lifts_too_large_for_the_space_are_refused() -> None:
    vectors = _unit(np.random.default_rng(3).normal(size=(3, 8)))
    with pytest.raises(ValueError, match="larger than the space allows"):
        fit_centring("m", {"fi": vectors}, {"fi": vectors}, "", "", {"fi": 0.5})


@pytest.mark.parametrize("language", ["fi", "en", "sv"])
def test_centred_vectors_are_unit_length(language: str) -> None:
    vectors = _unit(np.random.default_rng(1).normal(size=(3, 8)))
    centring = fit_centring("m", {"fi": vectors, "en": vectors[::-1]}, {"fi": vectors}, "", "")
    out = centring.centre_documents(vectors, [language] * 3)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
