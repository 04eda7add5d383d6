"""Mounting the console into the API's app: its pages (outside the OpenAPI contract), its
static files, and how its own refusals are answered (sign-in redirect, 403 page)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from simatch.console.routes import audit, auth, home, imports, records, review
from simatch.console.security import (
    PREFIX,
    SESSION_COOKIE,
    CsrfRefused,
    SignInRequired,
    harden,
)
from simatch.console.web import render

STATIC = Path(__file__).parent / "static"


def mount_console(app: FastAPI) -> None:
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    routers = (auth.router, home.router, records.router, imports.router, review.router,
               audit.router)  # fmt: skip
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfRefused, _csrf_refused)  # type: ignore[arg-type]


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    target = f"{PREFIX}/sign-in?next={quote(exc.next_url, safe='')}"
    if exc.ended:
        target += "&ended=1"  # the page says why; the cookie that ended is dropped
    response: Response
    if request.headers.get("hx-request") == "true":
        # htmx follows a redirect inside the page; tell it to load the whole sign-in page.
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if exc.ended:
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return harden(response)


async def _csrf_refused(request: Request, exc: CsrfRefused) -> Response:
    return render(request, "error.html", None, 403, message="console_error_csrf")
