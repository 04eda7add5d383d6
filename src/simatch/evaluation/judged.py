"""Any judged set: records plus questions with their gold records, for ``simatch eval``.

Records are import files (``.jsonl`` or ``.csv`` in the product's format, with ``kind``), or
JSON lines of the simple shape ``{id, title, text, language?}`` that many public sets use; a
line without ``kind`` is mapped to ``kind`` (the first of ``--kinds``, default innovation):

| kind | title | text |
|---|---|---|
| innovation | ``title`` | ``summary`` |
| need, call | ``title`` | ``description`` (a call also gets ``funder: "-"`` and a far deadline) |
| actor | ``name`` | ``description`` |

Other fields of such a line are dropped (they may give the answer away), and a
``language`` the import format does not take is detected from the text instead. Questions are JSON
lines ``{id, text, language?, gold_ids[]}``. Several question files may be given; a question
without ``gold_ids`` takes those of the question with the same ``id`` in another file (our
own translations of third-party questions keep the third party's judgement that way, without
copying it). The split into ``dev`` and ``test`` is by a stable hash of the question id, so
the translations of one question always fall on the same side.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from simatch.domain.records import KINDS
from simatch.evaluation.dataset import EvalFormatError
from simatch.ingest.readers import RawRow, read_path

Split = Literal["dev", "test", "all"]
SPLITS: tuple[Split, ...] = ("dev", "test", "all")
RECORD_LANGUAGES = ("fi", "en", "sv")  # what the import format takes


@dataclass(frozen=True)
class JudgedQuery:
    qid: str
    text: str
    language: str | None  # None: detected by the analyzer
    gold: frozenset[str]
    source: str  # the file it came from

    @property
    def split(self) -> Literal["dev", "test"]:
        return split_of(self.qid)


def split_of(qid: str) -> Literal["dev", "test"]:
    """Half the questions are for choosing settings (dev), half for reporting (test)."""
    digest = hashlib.sha256(qid.encode("utf-8")).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def map_row(row: RawRow, kind: str) -> RawRow:
    """A simple ``{id, title, text}`` line as an import row; import-format rows unchanged."""
    data = row.data
    if data is None or "kind" in data:
        return row
    title = data.get("title") or data.get("name")
    text = data.get("text") or data.get("description") or data.get("summary")
    mapped: dict[str, Any] = {"kind": kind, "id": data.get("id")}
    if data.get("language") in RECORD_LANGUAGES:  # others are detected from the text
        mapped["language"] = data["language"]
    if kind == "actor":
        mapped.update(name=title, description=text)
    elif kind == "innovation":
        mapped.update(title=title, summary=text)
    else:
        mapped.update(title=title, description=text)
        if kind == "call":
            mapped.update(funder="-", deadline="2999-12-31")
    return RawRow(row.source, row.line, mapped, row.error)


def read_records(paths: Sequence[Path], kind: str = "innovation") -> Iterator[RawRow]:
    if kind not in KINDS:
        raise EvalFormatError(f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})")
    for path in paths:
        for row in read_path(path):
            yield map_row(row, kind)


def load_judged_queries(paths: Sequence[Path], text_field: str = "text") -> list[JudgedQuery]:
    """Questions from every file; gold filled in by id across files. Raises EvalFormatError
    (file and line) for a bad line or a question whose gold cannot be found."""
    raw: list[tuple[dict[str, Any], str]] = []
    gold_by_id: dict[str, list[str]] = {}
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalFormatError(f"{where}: {exc}") from exc
            if not isinstance(data, dict) or "id" not in data:
                raise EvalFormatError(f"{where}: expected a JSON object with an id")
            text = data.get(text_field) or data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise EvalFormatError(f"{where}: no question text ({text_field!r})")
            gold = data.get("gold_ids")
            if gold is not None:
                if not isinstance(gold, list):
                    raise EvalFormatError(f"{where}: gold_ids must be a list")
                gold_by_id.setdefault(str(data["id"]), [str(g) for g in gold])
            raw.append((data, where))
    out = []
    for data, where in raw:
        qid = str(data["id"])
        gold = data.get("gold_ids")
        found = [str(g) for g in gold] if gold is not None else gold_by_id.get(qid)
        if found is None:
            raise EvalFormatError(f"{where}: no gold_ids, and no other file judges {qid!r}")
        text = data.get(text_field) or data.get("text")
        language = data.get("language")
        out.append(
            JudgedQuery(
                qid,
                " ".join(str(text).split()),
                str(language) if language else None,
                frozenset(found),
                where.rsplit(":", 1)[0],
            )
        )
    return out


def in_split(queries: Iterable[JudgedQuery], split: Split) -> list[JudgedQuery]:
    return [q for q in queries if split == "all" or q.split == split]


def subset(queries: Sequence[JudgedQuery], n: int | None) -> list[JudgedQuery]:
    """The first ``n`` question ids (in file order; every language version of them)."""
    if n is None:
        return list(queries)
    keep = list(dict.fromkeys(q.qid for q in queries))[:n]
    wanted = set(keep)
    return [q for q in queries if q.qid in wanted]
