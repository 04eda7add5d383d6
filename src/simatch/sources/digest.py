"""A stable checksum of a source item as it came, for sources that send none of their own."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def item_digest(value: Any) -> str:
    """Same item, same digest, whatever the key order of the JSON it came in."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]
