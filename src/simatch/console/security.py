"""Who may use the console, and how forms are protected.

- A session cookie (HttpOnly, SameSite=Lax, Secure when the request came over HTTPS, path
  /console) holds a random session id; the store keeps only its hash (``SessionService``).
- Every state-changing request is a POST that must carry the session's CSRF token, as the
  form field ``csrf`` or the ``X-CSRF-Token`` header (htmx sends it from ``hx-headers``).
  The sign-in form, before any session exists, uses a double-submit cookie instead.
- Pages are never cached and may not be framed; scripts and styles come only from /console.
"""

from __future__ import annotations

import secrets
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from simatch.api.deps import SessionServiceDep
from simatch.domain.sessions import ConsoleSession

SESSION_COOKIE = "simatch_console"
SIGN_IN_COOKIE = "simatch_console_signin"
PREFIX = "/console"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class SignInRequired(Exception):
    """No live session: the console answers with the sign-in page (a redirect). ``ended``:
    the request carried a session that has ended (idle too long, its lifetime over, signed
    out or its key revoked), which the sign-in page says."""

    def __init__(self, next_url: str, ended: bool = False) -> None:
        self.next_url = next_url
        self.ended = ended


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: refused (403), nothing changed."""


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name, value, max_age=age, path=PREFIX, httponly=True, samesite="lax",
        secure=secure(request),
    )  # fmt: skip


R = TypeVar("R", bound=Response)


def harden(response: R) -> R:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(url: str | None) -> str:
    """Only a console path: never an open redirect."""
    if url and url.startswith(PREFIX) and not url.startswith("//") and "\\" not in url:
        return url
    return PREFIX + "/"


async def current_session(request: Request, sessions: SessionServiceDep) -> ConsoleSession:
    cookie = request.cookies.get(SESSION_COOKIE)
    session = sessions.current(cookie)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(quote(target, safe="/?=&"), ended=bool(cookie))
    return session


SessionDep = Annotated[ConsoleSession, Depends(current_session)]


async def checked_form(request: Request, session: SessionDep) -> FormData:
    """The posted form, once its CSRF token is the session's; CsrfRefused otherwise."""
    form = await request.form()
    token = request.headers.get("x-csrf-token") or form.get("csrf")
    if not isinstance(token, str) or not secrets.compare_digest(token, session.csrf):
        raise CsrfRefused()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
