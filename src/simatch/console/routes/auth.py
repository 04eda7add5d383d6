"""Signing in with an API key, signing out, and choosing the language."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from simatch.api.deps import SessionServiceDep, StateDep
from simatch.console.i18n import LANG_COOKIE, catalogue
from simatch.console.security import (
    PREFIX,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    CheckedForm,
    harden,
    safe_next,
    set_cookie,
)
from simatch.console.web import render
from simatch.errors import Forbidden, RateLimited, Unauthenticated

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None, ended: bool = False) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    notice = "console_session_ended" if ended else ""
    response = render(
        request, "sign_in.html", None, next=safe_next(next), token=token, error="", notice=notice
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token, 3600)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    state: StateDep,
    sessions: SessionServiceDep,
    key: Annotated[str, Form(max_length=300)] = "",
    token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    target = safe_next(next)

    def refuse(error: str, status: int) -> Response:
        fresh = secrets.token_urlsafe(24)
        page = render(
            request, "sign_in.html", None, status, next=target, token=fresh, error=error, notice=""
        )
        set_cookie(request, page, SIGN_IN_COOKIE, fresh, 3600)
        return page

    if not cookie or not secrets.compare_digest(cookie, token):
        return refuse("console_error_csrf", 403)
    address = request.client.host if request.client else "unknown"
    try:
        # Failed and successful tries alike count: guessing keys here is rate limited too.
        state.client_limiter.hit(f"addr:{address}")
        _, session_id = sessions.sign_in(key)
    except RateLimited:
        return refuse("console_error_rate_limited", 429)
    except Unauthenticated:
        return refuse("console_error_unknown_key", 401)
    except Forbidden:
        return refuse("console_error_scope", 403)
    response = RedirectResponse(target, status_code=303)
    age = int(sessions.ttl.total_seconds())  # the server ends it sooner when it idles
    set_cookie(request, response, SESSION_COOKIE, session_id, age)
    response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX)
    return harden(response)


@router.post("/sign-out")
def sign_out(request: Request, _form: CheckedForm, sessions: SessionServiceDep) -> Response:
    sessions.sign_out(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return harden(response)


@router.get("/language/{language}")
def choose_language(request: Request, language: str, next: str | None = None) -> Response:
    """A preference, not a change to data: a plain link, kept for a year."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in catalogue().languages:
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, path=PREFIX, samesite="lax",
            secure=request.url.scheme == "https",
        )  # fmt: skip
    return harden(response)
