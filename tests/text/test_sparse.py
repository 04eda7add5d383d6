from __future__ import annotations

import os
import subprocess
import sys

import pytest

from simatch.text.sparse import SparseEncoder, term_index

LEMMAS = ["nuori", "yksinäisyys", "syrjäytyminen", "loneliness", "ensamhet", "työ"]


def test_indices_are_stable_across_processes() -> None:
    code = (
        "from simatch.text.sparse import term_index\n"
        f"print(' '.join(str(term_index(w)) for w in {LEMMAS!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert [int(x) for x in out] == [term_index(w) for w in LEMMAS]


def test_known_values_never_change() -> None:
    # an index built today must still be queryable after an upgrade
    assert term_index("nuori") == term_index("nuori") < 2**31
    assert term_index("yksinäisyys") == 644319760


def test_document_vector_sorted_unique_saturated() -> None:
    encoder = SparseEncoder()
    vector = encoder.encode_document(["nuori", "työ", "nuori", "nuori", "yksinäisyys"])
    assert vector.indices == sorted(set(vector.indices))
    assert len(vector.indices) == 3
    values = dict(zip(vector.indices, vector.values, strict=True))
    assert values[term_index("nuori")] > values[term_index("työ")]
    assert values[term_index("nuori")] < 3 * values[term_index("työ")]  # saturation
    assert all(0 < v < encoder.k1 + 1 for v in vector.values)


def test_length_normalisation() -> None:
    encoder = SparseEncoder()
    short = encoder.encode_document(["nuori"] + ["x"] * 9)
    long = encoder.encode_document(["nuori"] + ["y"] * 99)
    index = short.indices.index(term_index("nuori"))
    assert short.values[index] > long.values[long.indices.index(term_index("nuori"))]


def test_empty() -> None:
    assert SparseEncoder().encode_document([]).is_empty()
    assert SparseEncoder().encode_query({}).is_empty()


def test_query_vector_merges_by_max_and_drops_zero() -> None:
    vector = SparseEncoder().encode_query({"nuori": 1.0, "youth": 0.5, "zero": 0.0})
    assert vector.indices == sorted([term_index("nuori"), term_index("youth")])
    assert dict(zip(vector.indices, vector.values, strict=True))[term_index("youth")] == 0.5


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        SparseEncoder(b=2.0)
