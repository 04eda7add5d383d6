from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from simatch.text.dictionary import BilingualDictionary, gloss_lemmatizer, parse_entry
from simatch.text.lemmas import BaseLemmatizer, make_lemmatizer
from tests.text.conftest import DICT_DIR, needs_freedict

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(number: int) -> str:
    digits = ""
    while True:
        digits = B64[number % 64] + digits
        number //= 64
        if not number:
            return digits


def write_dictd(tmp_path: Path, entries: dict[str, list[str]]) -> tuple[Path, Path]:
    """A tiny dictd pair in the FreeDict layout."""
    data = b""
    index_lines = ["00databaseutf8\tA\tB"]
    for headword, texts in entries.items():
        for text in texts:
            raw = text.encode("utf-8")
            index_lines.append(f"{headword}\t{b64(len(data))}\t{b64(len(raw))}")
            data += raw
    index = tmp_path / "test.index"
    index.write_text("\n".join(index_lines) + "\n", encoding="utf-8")
    dict_dz = tmp_path / "test.dict.dz"
    dict_dz.write_bytes(gzip.compress(data))
    return index, dict_dz


def test_parse_entry_unnumbered() -> None:
    entry = (
        "yksinäisyys /ˈyksɪnˌæisyːs/ <n>\nloneliness, solitude, aloneness\nyksin olemisen kokemus\n"
    )
    assert parse_entry(entry) == [["loneliness", "solitude", "aloneness"]]


def test_parse_entry_numbered_with_notes() -> None:
    entry = (
        "työ /tˈyø/ <n>\n"
        "1. work, occupation 2.\n"
        "fysikaalinen suure\n"
        " 3.\n"
        "työpaikka\n"
        "2. job (paid), task\n"
        "jokin tehtävä\n"
    )
    assert parse_entry(entry) == [["work", "occupation"], ["job", "task"]]


def test_reader_ranks_caps_and_lemmatises(tmp_path: Path) -> None:
    index, dict_dz = write_dictd(
        tmp_path,
        {
            "kunta": ["kunta /x/ <n>\n1. municipality, community\nmääritelmä\n2. kingdom\nx\n"],
            "nuori": ["nuori <adj>\nyoung\nx\n", "nuori <n>\nyouth, teenagers\nx\n"],
            "päihde": ["päihde <n>\npsychoactive drug, psychoactive substance\nx\n"],
        },
    )
    dictionary = BilingualDictionary.load(
        index, dict_dz, "fi", "en", lemmatize=lambda gloss: gloss.lower().rstrip("s").split()
    )
    assert dictionary.translations("kunta") == ["municipality", "kingdom", "community"]
    assert dictionary.translations("NUORI") == ["young", "youth", "teenager"]
    # multiword glosses are split into words, repeats dropped
    assert dictionary.translations("päihde") == ["psychoactive", "drug", "substance"]
    assert dictionary.translations("tuntematon") == []
    assert "kunta" in dictionary and "tuntematon" not in dictionary
    assert len(dictionary) == 3


def test_weights_and_cap(tmp_path: Path) -> None:
    glosses = ", ".join(f"w{i}" for i in range(10))
    index, dict_dz = write_dictd(tmp_path, {"sana": [f"sana <n>\n{glosses}\nx\n"]})
    dictionary = BilingualDictionary.load(index, dict_dz, max_translations=6)
    weighted = dictionary.weighted_translations("sana")
    assert [word for word, _ in weighted] == [f"w{i}" for i in range(6)]
    assert [weight for _, weight in weighted] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        BilingualDictionary.load(tmp_path / "x.index", tmp_path / "x.dict.dz")


@pytest.fixture(scope="module")
def lemmatizer() -> BaseLemmatizer:
    return make_lemmatizer("auto")


def freedict(lemmatizer: BaseLemmatizer, source: str, target: str) -> BilingualDictionary:
    lemmatize: Callable[[str], list[str]] = gloss_lemmatizer(lemmatizer, target)
    return BilingualDictionary.freedict(DICT_DIR, source, target, lemmatize)


@needs_freedict
def test_real_fin_eng(lemmatizer: BaseLemmatizer) -> None:
    fi_en = freedict(lemmatizer, "fi", "en")
    started = time.perf_counter()
    fi_en.preload()
    assert time.perf_counter() - started < 3.0  # about 0.1 s when the machine is not busy
    assert len(fi_en) > 30_000
    assert "loneliness" in fi_en.translations("yksinäisyys")
    assert {"young", "youth"} & set(fi_en.translations("nuori"))
    assert "exclusion" in fi_en.translations("syrjäytyminen")
    assert "employment" in fi_en.translations("työllisyys")


@needs_freedict
def test_real_eng_fin(lemmatizer: BaseLemmatizer) -> None:
    en_fi = freedict(lemmatizer, "en", "fi")
    assert en_fi.translations("loneliness") == ["yksinäisyys"]
    assert "maahanmuuttaja" in en_fi.translations("immigrant")
    # multiword headwords exist in this direction
    assert "mielenterveys" in en_fi.translations("mental health")
