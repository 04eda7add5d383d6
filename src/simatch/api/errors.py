"""The error tree mapped to HTTP, in one place.

Every 4xx and 5xx answer has the body ``{"error": {"code", "message", "details"?}}``:
simatch's own errors, FastAPI's validation errors (422, naming the field), Starlette's
404/405 (with ``Allow`` for every method of the path), bodies over the limit (413,
``middleware/body_limit.py``) and, through ``observe.py``, unexpected
failures (500).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from simatch.api.middleware.methods import allowed_methods
from simatch.errors import (
    AuthError,
    BackendUnavailable,
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SimatchError,
    TextTooLong,
    Unauthenticated,
)

log = logging.getLogger("simatch.api")


class NotReady(BackendUnavailable):
    """The index or the model is not ready yet (readiness probe)."""

    code = "not_ready"


# Most specific first: the first class in an error's MRO found here decides.
_STATUS: dict[type[SimatchError], int] = {
    TextTooLong: 422,
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    AuthError: 401,
    RateLimited: 429,
    BackendUnavailable: 503,
    ConfigError: 500,
    SimatchError: 500,
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "backend_unavailable",
}


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_input.")
    message: str = Field(description="For humans; names the field when one is at fault.")
    details: Any = Field(None, description="Optional structured details (fields, limits).")


class ErrorResponse(BaseModel):
    error: ErrorBody


@dataclass(frozen=True)
class ErrorDoc:
    description: str
    codes: tuple[str, ...]
    headers: tuple[str, ...] = ()  # response headers it always carries (openapi.HEADERS)


# What each error status means, for the OpenAPI schema. The contract (``openapi.py``) puts the
# ones every operation can meet on it by itself (auth, rate limits, validation, body size);
# a route names only its own (404, 409, 415) with ``error_responses``.
ERROR_DOCS: dict[int, ErrorDoc] = {
    400: ErrorDoc("The body could not be read (for example JSON that is not UTF-8, or an "
                  "interrupted upload).", ("bad_request",)),
    401: ErrorDoc("No key where one is needed, or an unknown or revoked key (even where no "
                  "key is needed).", ("unauthenticated",), ("WWW-Authenticate",)),
    403: ErrorDoc("The key lacks the scope this operation needs (`details.required_scope`).",
                  ("forbidden",)),
    404: ErrorDoc("Not found.", ("not_found",)),
    409: ErrorDoc("The request contradicts the target resource.", ("conflict",)),
    413: ErrorDoc("The request body is larger than the limit (`details.max_bytes`).",
                  ("too_large",)),
    415: ErrorDoc("The body's Content-Type is not one this operation reads.",
                  ("unsupported_media_type",)),
    422: ErrorDoc("Invalid input; `details` names the fields.", ("invalid_input", "too_long")),
    429: ErrorDoc("Rate limited; `Retry-After` says when to try again.", ("rate_limited",),
                  ("Retry-After",)),
    500: ErrorDoc("Unexpected server error; `details.request_id` to quote (internals stay in "
                  "the log).", ("internal_error",)),
    503: ErrorDoc("The index backend is unreachable; `Retry-After` says when to try again.",
                  ("backend_unavailable", "not_ready"), ("Retry-After",)),
}  # fmt: skip


def error_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's own error statuses, each with what it means there."""
    return {
        status: {"model": ErrorResponse, "description": description}
        for status, description in described.items()
    }


def status_of(exc: SimatchError) -> int:
    for cls in type(exc).__mro__:
        status = _STATUS.get(cls)
        if status is not None:
            return status
    return 500


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def simatch_error_response(exc: SimatchError) -> JSONResponse:
    status = status_of(exc)
    headers: dict[str, str] = {}
    message, details = exc.message, exc.details
    if isinstance(exc, (RateLimited, BackendUnavailable)):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, BackendUnavailable):
        log.warning("unavailable: %s", exc.message)
        if not isinstance(exc, NotReady):
            message = "The index backend is unavailable; try again shortly."
            details = {"retry_after": exc.retry_after}
    elif status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message)
        # Settings and paths stay in the log; the caller learns only what happened.
        message, details = "The service is misconfigured or failed; see the server log.", None
    return error_response(status, exc.code, message, details, headers or None)


def validation_details(errors: Sequence[Any]) -> list[dict[str, str]]:
    """FastAPI's error list without echoing input (it may hold a query text)."""
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else "body"
        parts = loc[1:] if loc and loc[0] == where else loc
        # Drop the tag of a discriminated union (body.innovation.title -> title).
        if len(parts) > 1 and parts[0] in ("innovation", "need", "call", "actor"):
            parts = parts[1:]
        field = ".".join(parts) or where
        message = "invalid JSON" if err.get("type") == "json_invalid" else str(err.get("msg", ""))
        details.append({"field": field, "in": where, "message": message})
    return details


async def _on_simatch_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SimatchError)
    return simatch_error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    first = details[0] if details else {"field": "body", "message": "invalid"}
    message = f"{first['field']}: {first['message']}"
    return error_response(422, "invalid_input", message, details)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    details = {"max_bytes": exc.limit} if hasattr(exc, "limit") else None
    if exc.status_code == 404 and message == "Not Found":
        message = f"No such endpoint: {request.method} {request.url.path}"
    headers = dict(exc.headers or {}) or None
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
        # Starlette names the methods of one route; a path may have several.
        methods = allowed_methods(request.app.router.routes, request.scope)
        if methods:  # else a mounted app's own answer (static files) stands
            headers = {**(headers or {}), "Allow": ", ".join(methods)}
    return error_response(exc.status_code, code, message, details, headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SimatchError, _on_simatch_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
