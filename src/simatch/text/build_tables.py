"""``python -m simatch.text.build_tables``: the dictionaries' translation tables
(``simatch.text.translation_table``) for this install's settings; run by scripts/setup."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from simatch.config import TextSettings
from simatch.text.analyzer import DICTIONARY_PAIRS
from simatch.text.dictionary import BilingualDictionary, gloss_lemmatizer
from simatch.text.lemmas import make_lemmatizer
from simatch.text.translation_table import build


def main(argv: list[str] | None = None) -> int:
    settings = TextSettings()
    parser = argparse.ArgumentParser(
        prog="python -m simatch.text.build_tables",
        description="Build the translation tables of the FreeDict dictionaries (once per "
        "install; again after the dictionaries, Voikko or simatch change).",
    )
    parser.add_argument("--dir", type=Path, default=settings.translation_table_dir)
    parser.add_argument("--dict-dir", type=Path, default=settings.dict_dir)
    parser.add_argument(
        "--lemmatizer", choices=["auto", "voikko", "simplemma"], default=settings.lemmatizer
    )
    parser.add_argument(
        "--low-priority",
        action="store_true",
        help="Run at the lowest CPU priority (nice 19), beside a server.",
    )
    args = parser.parse_args(argv)
    if args.dir is None:
        print("SIMATCH_TRANSLATION_TABLE_DIR is unset: no tables")
        return 0
    if args.low_priority:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, 19)
            print("at the lowest priority (nice 19)")
        except (AttributeError, OSError) as exc:  # not POSIX, or not allowed
            print(f"at normal priority (could not lower it: {exc})")
    lemmatizer = make_lemmatizer(args.lemmatizer)
    for source, target in DICTIONARY_PAIRS:
        try:
            found = BilingualDictionary.freedict(
                args.dict_dir, source, target, gloss_lemmatizer(lemmatizer, target)
            )
        except FileNotFoundError:
            print(f"{source}-{target}: no FreeDict files in {args.dict_dir}, no table")
            continue
        started = time.perf_counter()
        path, built = build(found, lemmatizer, args.dir)
        took = time.perf_counter() - started
        print(f"{source}-{target}: {path} {'built' if built else 'current'} ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
