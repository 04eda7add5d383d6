"""The evaluation format: judged queries (JSON Lines) plus the records they were judged against.

One query per line::

    {"qid": "q036", "fi": "...", "en": "...", "relevant": ["inn-fi-032", ...],
     "kinds": ["innovation"]}

``fi`` and ``en`` are the same problem in each language (either may be missing); ``relevant``
lists every record of ``kinds`` that addresses it (binary relevance; empty = no good match
exists); ``kinds`` are the record kinds that were judged, so rankings are restricted to them.
The records are any import files (JSONL or CSV) in the product's format; their ``language``
decides the language pair of a judgement. See ``indexes/eval/README.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from simatch.domain.records import KINDS
from simatch.ingest.demo import with_dates
from simatch.ingest.readers import RawRow, read_path

QUERY_LANGUAGES: tuple[str, ...] = ("fi", "en")


class EvalFormatError(ValueError):
    """A query line that does not follow the format (names the file and line)."""


@dataclass(frozen=True)
class EvalQuery:
    qid: str
    texts: dict[str, str]  # language -> text
    relevant: frozenset[str]
    kinds: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)


@dataclass(frozen=True)
class EvalSet:
    queries: list[EvalQuery]
    record_files: list[Path]
    languages: dict[str, str] = field(default_factory=dict)  # record id -> language

    def rows(self, today: date | None = None) -> Iterator[RawRow]:
        """The records as import rows; call deadlines given as offsets (the demo data's
        ``deadline_offset_days``) become dates relative to ``today``, as `simatch demo` does."""
        day = today or date.today()
        for path in self.record_files:
            for row in read_path(path):
                yield with_dates(row, day)

    def subset(self, n: int | None) -> EvalSet:
        """The first ``n`` answerable queries plus every no-match query (deterministic)."""
        if n is None:
            return self
        answerable = [q for q in self.queries if q.answerable][:n]
        others = [q for q in self.queries if not q.answerable]
        return EvalSet(answerable + others, self.record_files, self.languages)


def parse_query(data: dict[str, object], where: str) -> EvalQuery:
    try:
        qid = str(data["qid"])
        relevant = data.get("relevant", [])
        kinds = data.get("kinds") or list(KINDS)
        if not isinstance(relevant, list) or not isinstance(kinds, list):
            raise TypeError("relevant and kinds must be lists")
    except (KeyError, TypeError) as exc:
        raise EvalFormatError(f"{where}: {exc}") from exc
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise EvalFormatError(f"{where}: unknown kinds {unknown}")
    texts = {lang: str(data[lang]) for lang in QUERY_LANGUAGES if data.get(lang)}
    if not texts:
        raise EvalFormatError(f"{where}: no query text (fields {', '.join(QUERY_LANGUAGES)})")
    return EvalQuery(qid, texts, frozenset(str(r) for r in relevant), tuple(map(str, kinds)))


def load_queries(path: Path) -> list[EvalQuery]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFormatError(f"{where}: {exc}") from exc
        if not isinstance(data, dict):
            raise EvalFormatError(f"{where}: expected a JSON object")
        queries.append(parse_query(data, where))
    return queries


def record_languages(files: Sequence[Path]) -> dict[str, str]:
    languages: dict[str, str] = {}
    for path in files:
        for row in read_path(path):
            if row.data is not None and row.data.get("id") is not None:
                languages[str(row.data["id"])] = str(row.data.get("language") or "")
    return languages


def load_eval_set(queries: Path, records: Path | Sequence[Path]) -> EvalSet:
    """Queries and records (a directory of ``*.jsonl`` files, or a list of files).

    Raises EvalFormatError when a relevant id is not among the records."""
    if isinstance(records, Path):
        files = sorted(records.glob("*.jsonl")) if records.is_dir() else [records]
    else:
        files = list(records)
    loaded = load_queries(queries)
    languages = record_languages(files)
    for query in loaded:
        missing = sorted(query.relevant - languages.keys())
        if missing:
            raise EvalFormatError(f"{query.qid}: relevant ids not in the records: {missing}")
    return EvalSet(loaded, files, languages)


def project_set(indexes_dir: Path) -> EvalSet:
    """The project's own set: ``indexes/eval/queries.jsonl`` judged on ``indexes/demo/``."""
    return load_eval_set(indexes_dir / "eval" / "queries.jsonl", indexes_dir / "demo")
