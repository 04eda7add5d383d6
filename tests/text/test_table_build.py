"""A server without its translation tables builds them in a child process at the lowest
priority, then reads them; the translations stay the same."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import httpx
import pytest

from simatch.text.dictionary import BilingualDictionary, gloss_lemmatizer
from simatch.text.lemmas import SimplemmaLemmatizer
from simatch.text.table_build import TableBuild, build_command
from simatch.text.translation_table import use_table
from tests.serving import serving
from tests.text.test_dictionary import write_dictd
from tests.text.test_translation_table import ENTRIES


def freedict_dir(tmp_path: Path) -> Path:
    """A tiny fi-en FreeDict pair (no en-fi) under the names the analyzer looks for."""
    directory = tmp_path / "dictd"
    directory.mkdir()
    index, dict_dz = write_dictd(tmp_path, ENTRIES)
    index.rename(directory / "freedict-fin-eng.index")
    dict_dz.rename(directory / "freedict-fin-eng.dict.dz")
    return directory


def fi_en(dict_dir: Path, tables: Path | None) -> BilingualDictionary:
    lemmatizer = SimplemmaLemmatizer()
    found = BilingualDictionary.freedict(dict_dir, "fi", "en", gloss_lemmatizer(lemmatizer, "en"))
    if tables is not None:
        use_table(found, lemmatizer, tables)
    return found


def test_a_missing_table_is_built_at_low_priority_and_then_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="simatch.text.table_build")
    dict_dir, tables = freedict_dir(tmp_path), tmp_path / "tables"
    dictionary = fi_en(dict_dir, tables)
    live = fi_en(dict_dir, None)
    before = {lemma: dictionary.weighted_translations(lemma) for lemma in ENTRIES}
    assert not dictionary.uses_table

    build = TableBuild([dictionary], build_command(tables, dict_dir, "simplemma"))
    assert build.start()
    assert build.finished.wait(120)
    assert dictionary.uses_table  # read by the build's thread, not by the next lookup
    assert len(list(tables.glob("translations-fi-en-*.tsv"))) == 1
    assert "at the lowest priority (nice 19)" in caplog.text
    assert "read for fi-en" in caplog.text
    for lemma in [*ENTRIES, "tuntematon"]:
        assert dictionary.weighted_translations(lemma) == live.weighted_translations(lemma)
    assert before == {lemma: dictionary.weighted_translations(lemma) for lemma in ENTRIES}

    # Nothing missing: nothing started (a restarted server with its tables).
    again = TableBuild([fi_en(dict_dir, tables)], build_command(tables, dict_dir, "simplemma"))
    assert not again.start()
    assert again.finished.is_set()


def test_a_failed_build_leaves_translations_computed_on_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dict_dir, tables = freedict_dir(tmp_path), tmp_path / "tables"
    dictionary = fi_en(dict_dir, tables)
    failing = [sys.executable, "-c", "import sys; print('no space left'); sys.exit(3)"]
    build = TableBuild([dictionary], failing)
    assert build.start()
    assert build.finished.wait(60)
    assert "building the translation tables failed (exit 3): no space left" in caplog.text
    assert not dictionary.uses_table
    assert dictionary.translations("kunta")[0] == "municipality"


def test_stop_ends_the_child(tmp_path: Path) -> None:
    dict_dir, tables = freedict_dir(tmp_path), tmp_path / "tables"
    build = TableBuild([fi_en(dict_dir, tables)], [sys.executable, "-c", "input()"])
    assert build.start()
    deadline = time.monotonic() + 30
    while build._process is None:  # the child is started by the build's thread
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process = build._process
    build.stop()
    assert process.poll() is not None
    assert build.finished.wait(10)
    assert not list(tables.glob("*"))


def test_serve_builds_missing_tables_after_the_demo_load(tmp_path: Path) -> None:
    """`simatch serve` (a real process) with no tables: ready first, the demo loaded
    before the build starts, then the table is built, read, and matches still answered."""
    dict_dir, tables = freedict_dir(tmp_path), tmp_path / "tables"
    with serving(
        tmp_path,
        SIMATCH_DICT_DIR=str(dict_dir),
        SIMATCH_TRANSLATION_TABLE_DIR=str(tables),
        SIMATCH_LEMMATIZER="simplemma",
    ) as served:
        deadline = time.monotonic() + 120
        while "translation tables built" not in served.output():
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.2)
        log = served.output()
        assert log.index("loading the demo data") < log.index("building them in the background")
        assert "read for fi-en" in log
        assert len(list(tables.glob("translations-fi-en-*.tsv"))) == 1
        token = served.create_key("match")
        response = httpx.post(
            f"{served.url}/v1/match",
            json={"text": "nuorten päihdetyö kunnassa"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
