"""The methods of a resource, as HTTP wants them told: ``Allow`` on every 405, and OPTIONS
answered with 204 and ``Allow`` (CORS preflights are answered by CORSMiddleware further out).

Starlette's own 405 names only the methods of the first route that matched the path, while
one path may have several routes (GET and POST /v1/feedback), so the methods are gathered
here from every route of the app.
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette._utils import get_route_path
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this path (with HEAD and OPTIONS), or [] if none."""
    path = get_route_path(scope)
    methods: set[str] = set()
    for route in iter_route_contexts(routes):  # through included routers
        if route.methods and route.path_regex.match(path):
            methods |= route.methods
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


class MethodsMiddleware:
    """Answers OPTIONS for the app's own routes; other requests pass through."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes  # the router's live list: routes mounted later count too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            methods = allowed_methods(self.routes, scope)
            if methods:
                await Response(status_code=204, headers={"Allow": ", ".join(methods)})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)
