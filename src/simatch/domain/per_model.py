"""Files of values measured per embedding model (``indexes/calibration.json``,
``indexes/language_means.json``): ``{"models": {model_id: entry}}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_entry(path: Path, model_id: str) -> dict[str, Any] | None:
    """This model's entry, or None when the file or the entry is missing."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    entry: dict[str, Any] | None = data.get("models", {}).get(model_id)
    return entry


def write_entry(
    path: Path, model_id: str, entry: dict[str, Any], indent: int, ensure_ascii: bool = True
) -> None:
    """Write or replace this model's entry; other models' entries are kept."""
    data: dict[str, Any] = {"models": {}}
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("models", {})[model_id] = entry
    text = json.dumps(data, indent=indent, ensure_ascii=ensure_ascii)
    path.write_text(text + "\n", encoding="utf-8")
