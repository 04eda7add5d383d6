"""A server started without its translation tables builds them in the background.

Without a current table (an install that did not run ``scripts/setup``, or tables of an
older version), translations are computed on first use: the same results, about 4 ms more
CPU per imported record (benchmarks/README.md, issue 11). ``simatch serve`` therefore builds
the missing tables once it is ready: ``python -m simatch.text.build_tables`` in a child
process at the lowest CPU priority, so that its 20-30 s of Python take neither the server's
GIL nor a core a request wants, and after the startup demo import, which it does not slow.
When the child is done, the dictionaries read the new tables; lookups meanwhile compute as
before. The CLI does not build them first: a small import would wait longer for the build
than it saves.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from simatch.text.dictionary import BilingualDictionary

log = logging.getLogger(__name__)


def build_command(table_dir: Path, dict_dir: Path, lemmatizer: str) -> list[str]:
    """The child's command line: this interpreter, the same settings, nice 19."""
    return [
        sys.executable,
        "-m",
        "simatch.text.build_tables",
        "--low-priority",
        "--dir",
        str(table_dir),
        "--dict-dir",
        str(dict_dir),
        "--lemmatizer",
        lemmatizer,
    ]


class TableBuild:
    """Builds the tables the given dictionaries lack, once, in a child process
    (``start``); ``stop`` ends the child (a table is written whole at the end of its build
    or not at all)."""

    def __init__(self, dictionaries: Sequence[BilingualDictionary], command: list[str]) -> None:
        self.dictionaries = list(dictionaries)
        self.command = command
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.finished = threading.Event()  # set when the build ended (or had nothing to do)

    def missing(self) -> list[BilingualDictionary]:
        """Dictionaries that would read a table but have no current one."""
        return [d for d in self.dictionaries if d.table_loader is not None and not d.uses_table]

    def start(self) -> bool:
        """Start the build when a table is missing; True when it was started."""
        missing = self.missing()
        if not missing:
            self.finished.set()
            return False
        with self._lock:
            if self._thread is not None or self._stopped:
                return False
            self._thread = threading.Thread(
                target=self._run, args=(missing,), name="translation-tables", daemon=True
            )
            self._thread.start()
        return True

    def _run(self, missing: list[BilingualDictionary]) -> None:
        try:
            self._build(missing)
        except Exception as exc:  # the server goes on computing translations on first use
            log.warning("translation tables not built (%s: %s)", type(exc).__name__, exc)
        finally:
            self.finished.set()

    def _build(self, missing: list[BilingualDictionary]) -> None:
        pairs = ", ".join(f"{d.source}-{d.target}" for d in missing)
        log.info(
            "no current translation tables for %s: building them in the background at the "
            "lowest priority (python -m simatch.text.build_tables)",
            pairs,
        )
        started = time.perf_counter()
        with self._lock:
            if self._stopped:
                return
            process = subprocess.Popen(
                self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            self._process = process
        output, _ = process.communicate()
        if self._stopped:
            return
        lines = " | ".join(line for line in output.splitlines() if line.strip())
        if process.returncode != 0:
            log.warning(
                "building the translation tables failed (exit %s): %s", process.returncode, lines
            )
            return
        read = [d for d in missing if d.reload_table()]
        log.info(
            "translation tables built in %.1f s (%s); read for %s",
            time.perf_counter() - started,
            lines,
            ", ".join(f"{d.source}-{d.target}" for d in read) or "none",
        )

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            process, thread = self._process, self._thread
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if thread is not None:
            thread.join(5)
