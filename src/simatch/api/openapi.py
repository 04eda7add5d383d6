"""The OpenAPI contract: FastAPI's schema made exact, in one place, for the settings in force.

What a route declares is turned into what a client generator and a fuzzer need:
- security per operation from its access dependency (``auth.Access``): open operations say
  the bearer is optional (``[{}, {ApiKey: []}]``), keyed ones name the scope they need;
- the error responses every operation can meet (401 and 429 where a key is checked, 403
  where a scope is needed, 422 where there is input, 400 and 413 where there is a body,
  500, 503), each with the one error body and its headers (``X-Request-ID`` on every
  answer, ``Retry-After`` on 429 and 503, ``WWW-Authenticate`` on 401);
- bounds that come from settings (``configured(maximum="match_max_limit")`` on a field);
- operationIds that are the route functions' names, checked unique.

Routes added later get all of this without doing anything; the Schemathesis run in the
tests (``tests/api/test_contract.py``) reads the whole schema, so they are fuzzed too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from simatch.api.auth import Access, access_of, bearer
from simatch.api.errors import ERROR_DOCS, ErrorDoc, ErrorResponse
from simatch.api.logging import REQUEST_ID_HEADER
from simatch.config import Settings

CONFIGURED = "x-simatch-configured"
SCHEME = bearer.scheme_name

# The settings a schema bound may name with ``configured(...)``.
SETTING_BOUNDS: dict[str, Callable[[Settings], Any]] = {
    "match_max_limit": lambda s: s.match.match_max_limit,
    "max_text_chars": lambda s: s.match.max_text_chars,
    "webhook_url_pattern": lambda s: webhook_url_pattern(s.alerts.alerts_allow_http),
    # Channels a subscription can be made for over HTTP (Slack and Teams: in the chat).
    "http_alert_channels": lambda s: ["webhook", *(["email"] if s.smtp.enabled else [])],
}


def webhook_url_pattern(allow_http: bool) -> str:
    """What a webhook URL must look like: absolute, https (or http when allowed), a host."""
    scheme = "https?" if allow_http else "https"
    return rf"^{scheme}://[A-Za-z0-9._~-]+(:[0-9]{{1,5}})?(/[^ ]*)?$"


HEADERS: dict[str, dict[str, Any]] = {
    REQUEST_ID_HEADER: {
        "description": "The request's id: the caller's, if short and plain, else a new one. "
        "Quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with.",
        "required": True,
        "schema": {"type": "string", "const": "Bearer"},
    },
}

TAGS: list[dict[str, str]] = [
    {"name": "match", "description": "Solutions, peers and funders for a described problem."},
    {"name": "records", "description": "Innovations, needs, funding calls and actors."},
    {"name": "feedback", "description": "Whether an item of a match was useful."},
    {"name": "gaps", "description": "Questions nothing good was found for."},
    {"name": "keys", "description": "API keys (admin)."},
    {"name": "alerts", "description": "Followed needs: alerts when something new matches."},
    {"name": "health", "description": "Probes and metrics; no key, no rate limit."},
]


def configured(**bounds: str) -> dict[str, Any]:
    """``json_schema_extra`` for a bound set by a setting, e.g. ``maximum="match_max_limit"``
    (the field's own bound is the largest any setting allows)."""
    return {CONFIGURED: bounds}


def install_contract(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = contract_schema(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def contract_schema(app: FastAPI, settings: Settings) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
    )
    _resolve_bounds(schema, settings)
    seen: dict[str, str] = {}
    for route, dependant, method, operation in _operations(app, schema):
        label = f"{method.upper()} {route.path_format}"
        other = seen.setdefault(operation["operationId"], label)
        if other != label:
            raise RuntimeError(f"operationId {operation['operationId']!r}: {other} and {label}")
        access = _access(dependant)
        _secure(operation, access, settings)
        _document_errors(operation, access, settings)
        for response in operation["responses"].values():
            response.setdefault("headers", {})[REQUEST_ID_HEADER] = HEADERS[REQUEST_ID_HEADER]
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    error = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error.pop("$defs"), ErrorResponse=error)
    return schema


def _operations(
    app: FastAPI, schema: dict[str, Any]
) -> Iterator[tuple[RouteContext, Dependant, str, dict[str, Any]]]:
    for route in iter_route_contexts(app.routes):  # through included routers
        original = route.original_route
        if isinstance(original, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                operation = schema["paths"][route.path_format][method.lower()]
                yield route, original.dependant, method, operation


def _access(dependant: Dependant) -> Access | None:
    for dependency in dependant.dependencies:
        found = access_of(dependency.call) or _access(dependency)
        if found is not None:
            return found
    return None


def _secure(operation: dict[str, Any], access: Access | None, settings: Settings) -> None:
    operation.pop("security", None)
    if access is None:
        return  # no key is read, no rate limit applies (probes)
    if access.needs_key(settings.api):
        operation["security"] = [{SCHEME: []}]
        operation["x-required-scope"] = access.scope
        note = f"Needs a key with scope `{access.scope}` (or higher)."
    else:
        # Open: a key may be sent (it must then be valid), and none is needed.
        operation["security"] = [{}, {SCHEME: []}]
        note = "Open; a key, if sent, must be valid."
    operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".strip()


def _document_errors(operation: dict[str, Any], access: Access | None, settings: Settings) -> None:
    statuses = {500}
    if access is not None:
        statuses |= {401, 429, 503}
        if access.needs_key(settings.api):
            statuses.add(403)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413}
    responses = operation["responses"]
    declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
    for status in sorted(statuses | declared):
        given = responses.get(str(status), {}).get("description", "Error.")
        doc = ERROR_DOCS.get(status, ErrorDoc(given, (f"http_{status}",)))
        response = responses.setdefault(str(status), {"description": doc.description})
        response["content"] = {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorResponse"},
                "examples": {
                    code: {"value": {"error": {"code": code, "message": doc.description}}}
                    for code in doc.codes
                },
            }
        }
        headers = response.setdefault("headers", {})
        for name in doc.headers:
            headers[name] = HEADERS[name]


def _resolve_bounds(node: Any, settings: Settings) -> None:
    """Replace ``configured(...)`` markers by the settings' values, in place."""
    if isinstance(node, list):
        for item in node:
            _resolve_bounds(item, settings)
        return
    if not isinstance(node, dict):
        return
    bounds = node.pop(CONFIGURED, None)
    if bounds:
        for keyword, setting in bounds.items():
            value = SETTING_BOUNDS[setting](settings)
            if keyword == "oneOf":
                _keep_branches(node, value)
                continue
            targets = [node, *(b for k in ("anyOf", "oneOf") for b in node.get(k, []))]
            # Where the field has the bound (a branch of ``X | None``), else on the field.
            for target in [t for t in targets if keyword in t] or [node]:
                target[keyword] = value
    for value in node.values():
        _resolve_bounds(value, settings)


def _keep_branches(node: dict[str, Any], allowed: list[str]) -> None:
    """A discriminated union with only the branches whose discriminator value is allowed."""
    mapping: dict[str, str] = node["discriminator"]["mapping"]
    kept = {value: ref for value, ref in mapping.items() if value in allowed}
    node["discriminator"]["mapping"] = kept
    node["oneOf"] = [branch for branch in node["oneOf"] if branch.get("$ref") in kept.values()]
