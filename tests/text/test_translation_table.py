"""Translation tables: the same translations as computed live, and never a stale table."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from simatch.text.dictionary import BilingualDictionary, gloss_lemmatizer
from simatch.text.lemmas import BaseLemmatizer, SimplemmaLemmatizer, make_lemmatizer
from simatch.text.translation_table import KEEP_OTHER_DAYS, build, load, signature, use_table
from tests.text.conftest import DICT_DIR, needs_freedict
from tests.text.test_dictionary import write_dictd

ENTRIES = {
    "kunta": ["kunta <n>\n1. municipality, local authorities\nx\n2. community\nx\n"],
    "nuori": ["nuori <adj>\nyoung\nx\n", "nuori <n>\nyouth, young people\nx\n"],
    "päihde": ["päihde <n>\npsychoactive drug, intoxicating substances\nx\n"],
    "tyhjä": ["tyhjä <adj>\nthe, a\nx\n"],  # only stop words: no translations
    "Helsinki": ["Helsinki <prop>\nHelsinki, Helsingfors\nx\n"],
}


class CountingLemmatizer(SimplemmaLemmatizer):
    """simplemma, counting the texts it tokenizes (a gloss each, from the dictionary)."""

    def __init__(self, fingerprint: str = "") -> None:
        super().__init__()
        self.calls = 0
        self._fingerprint = fingerprint

    @property
    def fingerprint(self) -> str:
        return self._fingerprint or super().fingerprint

    def tokens(self, text: str, language: str) -> list:  # type: ignore[type-arg]
        self.calls += 1
        return super().tokens(text, language)


def dictionary(
    index: Path, dict_dz: Path, lemmatizer: BaseLemmatizer, tables: Path | None = None
) -> BilingualDictionary:
    found = BilingualDictionary.load(
        index, dict_dz, "fi", "en", lemmatize=gloss_lemmatizer(lemmatizer, "en")
    )
    if tables is not None:
        use_table(found, lemmatizer, tables)
    return found


def test_lookups_read_the_table_and_give_what_is_computed_live(tmp_path: Path) -> None:
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    tables = tmp_path / "tables"
    path, built = build(
        dictionary(index, dict_dz, SimplemmaLemmatizer()), SimplemmaLemmatizer(), tables
    )
    assert built and path.parent == tables
    # headwords without translations are left out of the table
    assert "tyhjä" not in path.read_text(encoding="utf-8")

    live = dictionary(index, dict_dz, SimplemmaLemmatizer())
    counting = CountingLemmatizer()
    tabled = dictionary(index, dict_dz, counting, tables)
    tabled.preload()  # reads the table and computes a few entries again to check it
    assert tabled.uses_table
    checked = counting.calls
    for lemma in [*ENTRIES, "tuntematon", "KUNTA"]:
        assert tabled.weighted_translations(lemma) == live.weighted_translations(lemma)
    assert counting.calls == checked  # no gloss was lemmatised for the lookups
    assert tabled.translations("päihde") == ["psychoactive", "drug", "intoxicate", "substance"]
    assert tabled.weighted_translations("kunta") == [
        ("municipality", 1.0),
        ("community", 1.0),
        ("local", 1.0),
        ("authority", 0.5),
    ]


def test_a_second_build_keeps_a_current_table(tmp_path: Path) -> None:
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    lemmatizer = SimplemmaLemmatizer()
    first, built = build(dictionary(index, dict_dz, lemmatizer), lemmatizer, tmp_path / "t")
    assert built
    again, built_again = build(dictionary(index, dict_dz, lemmatizer), lemmatizer, tmp_path / "t")
    assert (again, built_again) == (first, False)


def test_a_table_of_other_dictionary_files_is_not_read(tmp_path: Path) -> None:
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    lemmatizer = SimplemmaLemmatizer()
    build(dictionary(index, dict_dz, lemmatizer), lemmatizer, tmp_path / "t")
    changed = {**ENTRIES, "kunta": ["kunta <n>\nborough\nx\n"]}
    index, dict_dz = write_dictd(tmp_path, changed)  # the same paths, new content
    updated = dictionary(index, dict_dz, lemmatizer, tmp_path / "t")
    assert not updated.uses_table
    assert updated.translations("kunta") == ["borough"]
    assert updated.translations("nuori") == ["young", "youth", "people"]


def test_a_table_of_another_lemmatizer_is_not_read(tmp_path: Path) -> None:
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    lemmatizer = SimplemmaLemmatizer()
    build(dictionary(index, dict_dz, lemmatizer), lemmatizer, tmp_path / "t")
    other = CountingLemmatizer(fingerprint="simplemma-2 (simplemma 9.9)")
    assert signature(dictionary(index, dict_dz, other), other) != signature(
        dictionary(index, dict_dz, lemmatizer), lemmatizer
    )
    assert load(dictionary(index, dict_dz, other), other, tmp_path / "t") is None
    assert load(dictionary(index, dict_dz, lemmatizer), lemmatizer, tmp_path / "t") is not None


def test_a_table_that_disagrees_with_live_translations_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    lemmatizer = SimplemmaLemmatizer()
    path, _ = build(dictionary(index, dict_dz, lemmatizer), lemmatizer, tmp_path / "t")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\tmunicipality\t", "\tcounty\t"), encoding="utf-8")
    tampered = dictionary(index, dict_dz, lemmatizer, tmp_path / "t")
    assert not tampered.uses_table
    assert "disagrees on 'kunta'" in caplog.text
    assert tampered.translations("kunta")[0] == "municipality"


def test_tables_of_other_signatures_are_removed_only_when_old(tmp_path: Path) -> None:
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    tables = tmp_path / "t"
    tables.mkdir()
    recent = tables / "translations-fi-en-0000000000000001.tsv"
    old = tables / "translations-fi-en-0000000000000002.tsv"
    other_direction = tables / "translations-en-fi-0000000000000003.tsv"
    for path in (recent, old, other_direction):
        path.write_text("# another build\n", encoding="utf-8")
    long_ago = time.time() - (KEEP_OTHER_DAYS + 1) * 86400
    os.utime(old, (long_ago, long_ago))
    os.utime(other_direction, (long_ago, long_ago))
    lemmatizer = SimplemmaLemmatizer()
    path, _ = build(dictionary(index, dict_dz, lemmatizer), lemmatizer, tables)
    assert sorted(tables.iterdir()) == sorted([path, recent, other_direction])


@needs_freedict
@pytest.mark.parametrize(("source", "target"), [("fi", "en"), ("en", "fi")])
def test_real_tables_agree_with_a_fresh_computation(
    translation_tables: Path, source: str, target: str
) -> None:
    """Headwords drawn at random: computed live by a new lemmatizer (its own word cache) as
    the table has them, weights included."""
    lemmatizer = make_lemmatizer("auto")

    def fresh(tables: Path | None) -> BilingualDictionary:
        found = BilingualDictionary.freedict(
            DICT_DIR, source, target, gloss_lemmatizer(lemmatizer, target)
        )
        if tables is not None:
            use_table(found, lemmatizer, tables)
        return found

    tabled, live = fresh(translation_tables), fresh(None)
    assert tabled.uses_table and not live.uses_table
    sample = random.Random(11).sample(live.headwords(), 400)
    assert [tabled.weighted_translations(h) for h in sample] == [
        live.weighted_translations(h) for h in sample
    ]
    assert sum(1 for h in sample if tabled.translations(h)) > 200  # most have translations
