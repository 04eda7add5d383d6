"""JSON Lines and CSV readers that never stop at a bad row: they yield it as an error."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

Format = Literal["jsonl", "csv"]


@dataclass(frozen=True)
class RawRow:
    source: str
    line: int
    data: dict[str, Any] | None
    error: str | None = None


def detect_format(name: str, first_bytes: bytes = b"") -> Format:
    lower = name.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    return "jsonl" if first_bytes.lstrip().startswith(b"{") else "csv"


def read_jsonl(stream: Iterable[str], source: str) -> Iterator[RawRow]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(source, number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(data, dict):
            yield RawRow(source, number, None, "a record must be a JSON object")
            continue
        yield RawRow(source, number, data)


def read_csv(stream: IO[str], source: str, delimiter: str | None = None) -> Iterator[RawRow]:
    if delimiter is None:
        delimiter = "\t" if source.lower().endswith(".tsv") else ","
    reader = csv.DictReader(stream, delimiter=delimiter)
    last_line = 1  # the header
    for row in reader:
        line = last_line + 1
        last_line = reader.line_num
        if None in row:
            yield RawRow(source, line, None, "more cells than header columns")
            continue
        data = {k.strip(): v for k, v in row.items() if k is not None and v not in (None, "")}
        if not data:
            continue
        yield RawRow(source, line, data)


def read_stream(stream: IO[bytes], source: str, fmt: Format | None = None) -> Iterator[RawRow]:
    """Rows of a binary stream, decoded as UTF-8 (a BOM is accepted), read lazily."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    if fmt is None:
        fmt = detect_format(source)
    try:
        if fmt == "jsonl":
            yield from read_jsonl(text, source)
        else:
            yield from read_csv(text, source)
    except UnicodeDecodeError as exc:
        yield RawRow(source, 0, None, f"the file is not UTF-8 text ({exc.reason})")
    finally:
        text.detach()


def read_path(path: Path) -> Iterator[RawRow]:
    with path.open("rb") as handle:
        first = handle.peek(64)[:64] if hasattr(handle, "peek") else b""
        yield from read_stream(handle, str(path), detect_format(path.name, first))
