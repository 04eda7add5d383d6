"""Structured logs with the request id of the request being served.

``configure_logging`` is called by ``simatch serve`` (never at import, never by create_app).
Log lines never carry API keys, and never query texts at INFO: the API logs the length and
the detected language of a text, not the text.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from simatch.config import ApiSettings

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str] = ContextVar("simatch_request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Fields a log call may pass in ``extra=`` that the JSON formatter copies out.
EXTRA_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "client",
    "key_id",
    "text_chars",
    "language",
)


def request_id(incoming: str | None) -> str:
    """Keep a caller's id when it is short and plain (it is echoed and logged), else a new one."""
    if incoming and _SAFE_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        # method, route and status are in the access line's message already.
        names = [n for n in EXTRA_FIELDS if n not in ("method", "route", "status")]
        extras = [f"{n}={getattr(record, n)}" for n in names if hasattr(record, n)]
        return f"{line} {' '.join(extras)}" if extras else line


def configure_logging(settings: ApiSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_json else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's own lines go through the same handler; its access log is replaced by ours.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Libraries that log request URLs or payloads at INFO stay at WARNING.
    for name in ("httpx", "httpcore", "qdrant_client"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
