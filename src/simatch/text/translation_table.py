"""Dictionary translations computed ahead: every headword's lemmatised glosses in one file.

The first lookup of a lemma in a ``BilingualDictionary`` parses its entry and lemmatises the
glosses in the target language (Voikko for Finnish): about 0.3 ms per lemma. An import meets
thousands of new lemmas when it checks near-duplicates (each record is analysed as a
question, with translations), about half of that check's CPU time on the demo records,
taken from the embedding workers. A table holds what ``translation_words`` computes for
every headword (fi->en 38k, en->fi 62k; built in about 30 s), so that a first lookup is a
dict read. The weights are applied at lookup, as without a table: translations, and so
every score, are the same with and without it.

The table is derived data. Its name and first line carry a signature of everything its
words depend on: the dictionary files, the lemmatizer with its libraries' and data's
versions (``BaseLemmatizer.fingerprint``), the cap on translations, and the source of the
modules that compute them. A table with another signature is not read (lookups compute,
as without one), and on reading a few entries are computed again and compared.

Built by ``scripts/setup`` (``python -m simatch.text.build_tables``) into
``SIMATCH_TRANSLATION_TABLE_DIR``; a server started without them builds them in the
background (``simatch.text.table_build``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

from simatch.text import dictionary as dictionary_module
from simatch.text import lemmas as lemmas_module
from simatch.text import stopwords as stopwords_module
from simatch.text import tokens as tokens_module
from simatch.text.dictionary import BilingualDictionary
from simatch.text.lemmas import BaseLemmatizer

log = logging.getLogger(__name__)

TABLE_FORMAT = 1
SPOT_CHECKS = 12  # entries computed again when a table is read
KEEP_OTHER_DAYS = 30  # a table of another signature is removed by a build after this
# The code that turns an entry into translations: any change to it makes a new signature.
_CODE = (dictionary_module, lemmas_module, stopwords_module, tokens_module)


def signature(dictionary: BilingualDictionary, lemmatizer: BaseLemmatizer) -> str:
    """What the table's words depend on, as a hex digest."""
    digest = hashlib.sha256()
    parts = (
        f"format {TABLE_FORMAT}",
        f"{dictionary.source}->{dictionary.target}",
        f"max {dictionary.max_translations}",
        lemmatizer.fingerprint,
    )
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    files = [dictionary.index_path, dictionary.dict_path]
    files += [Path(str(module.__file__)) for module in _CODE] + [Path(__file__)]
    for path in files:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def table_path(directory: Path, dictionary: BilingualDictionary, sign: str) -> Path:
    return directory / f"translations-{dictionary.source}-{dictionary.target}-{sign[:16]}.tsv"


def _header(dictionary: BilingualDictionary, sign: str) -> str:
    return f"# simatch translation table {dictionary.source}-{dictionary.target} {sign}"


def build(
    dictionary: BilingualDictionary, lemmatizer: BaseLemmatizer, directory: Path
) -> tuple[Path, bool]:
    """Write the table for this dictionary unless a current one is there; (its path, whether
    it was built now)."""
    directory = directory.expanduser()
    sign = signature(dictionary, lemmatizer)
    path = table_path(directory, dictionary, sign)
    if _read(path, _header(dictionary, sign)) is not None:
        return path, False
    lines = [_header(dictionary, sign)]
    for headword in dictionary.headwords():
        words = dictionary.translation_words(headword)
        if words:  # a headword missing from the table has no translations
            lines.append("\t".join([headword, *words]))
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(partial, path)  # readers see the old table or the whole new one
    # Tables of other signatures are left for a while: installs of other versions may share
    # the directory (checkouts of one machine), and would otherwise rebuild in turn.
    expired = time.time() - KEEP_OTHER_DAYS * 86400
    for old in directory.glob(f"translations-{dictionary.source}-{dictionary.target}-*.tsv"):
        if old != path and old.stat().st_mtime < expired:
            old.unlink(missing_ok=True)
    return path, True


def load(
    dictionary: BilingualDictionary, lemmatizer: BaseLemmatizer, directory: Path
) -> dict[str, str] | None:
    """The current table for this dictionary (headword -> tab-separated translations), or
    None when there is none or it does not agree with the translations computed live."""
    directory = directory.expanduser()
    try:
        sign = signature(dictionary, lemmatizer)
    except OSError as exc:  # a source file not readable: no way to tell a table is current
        log.info("no translation table for %s-%s: %s", dictionary.source, dictionary.target, exc)
        return None
    path = table_path(directory, dictionary, sign)
    table = _read(path, _header(dictionary, sign))
    if table is None:
        log.info(
            "no current translation table %s: dictionary translations are computed on first "
            "use (python -m simatch.text.build_tables builds it; scripts/setup does, and "
            "simatch serve in the background)",
            path,
        )
        return None
    for headword in _spot_check_keys(table):
        if dictionary.translation_words(headword) != table[headword].split("\t"):
            log.warning("translation table %s disagrees on %r: not used", path, headword)
            return None
    return table


def _read(path: Path, header: str) -> dict[str, str] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    first, _, body = text.partition("\n")
    if first != header:
        return None
    table: dict[str, str] = {}
    for line in body.splitlines():
        headword, _, words = line.partition("\t")
        table[headword] = words
    return table


def _spot_check_keys(table: Mapping[str, str]) -> list[str]:
    keys = list(table)
    step = max(1, len(keys) // SPOT_CHECKS)
    return keys[::step][:SPOT_CHECKS]


def use_table(dictionary: BilingualDictionary, lemmatizer: BaseLemmatizer, directory: Path) -> None:
    """Let the dictionary read its table from ``directory`` on first use."""
    dictionary.table_loader = lambda: load(dictionary, lemmatizer, directory)
