"""Errors of simatch, one tree, mapped to HTTP in api/errors.py and to replies in chat/.

SimatchError
├── InvalidInput          the caller sent something we cannot use (422)
│   └── TextTooLong       (413 for bodies, 422 for fields)
├── NotFound              a record or resource does not exist (404)
├── Conflict              the request contradicts stored state (409)
├── AuthError
│   ├── Unauthenticated   no or unknown key (401)
│   └── Forbidden         key lacks the scope (403)
├── RateLimited           too many requests (429)
├── ConfigError           settings or stored index metadata do not fit together (500, at start)
│   └── ModelMismatch     the index was built with another embedding model
├── BackendUnavailable    the index backend cannot be reached right now (503, retry)
└── SourceFailed          an external source (EU portal, haeavustuksia.fi) failed a sync:
                          unreachable after retries, or an answer of another shape
"""

from __future__ import annotations

from typing import Any


class SimatchError(Exception):
    code = "internal_error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(SimatchError):
    code = "invalid_input"


class TextTooLong(InvalidInput):
    code = "too_long"


class NotFound(SimatchError):
    code = "not_found"


class Conflict(SimatchError):
    code = "conflict"


class AuthError(SimatchError):
    code = "auth_error"


class Unauthenticated(AuthError):
    code = "unauthenticated"


class Forbidden(AuthError):
    code = "forbidden"


class RateLimited(SimatchError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class ConfigError(SimatchError):
    code = "config_error"


class ModelMismatch(ConfigError):
    code = "model_mismatch"


class BackendUnavailable(SimatchError):
    code = "backend_unavailable"

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class SourceFailed(SimatchError):
    """A sync could not finish: the source kept failing, or answered in a shape we do not
    read (the message says what was expected and what came). Nothing is withdrawn then."""

    code = "source_failed"
