"""Rendering pages: the Jinja2 templates of ``templates/`` with what every page needs (the
texts in the user's language, the signed-in key, the CSRF token, the current section)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from simatch.console.i18n import Texts, request_language
from simatch.console.security import PREFIX, harden
from simatch.domain.sessions import ConsoleSession


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("simatch.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["prefix"] = PREFIX
    env.filters["query"] = lambda params: urlencode(
        {k: v for k, v in params.items() if v not in (None, "")}
    )
    return env


def render(
    request: Request,
    template: str,
    session: ConsoleSession | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    language = request_language(request)
    page = {
        "request": request,
        "t": Texts(language),
        "lang": language,
        "session": session,
        "csrf": session.csrf if session else "",
        "section": context.pop("section", ""),
        "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "partial": request.headers.get("hx-request") == "true",
        **context,
    }
    html = environment().get_template(template).render(page)
    return harden(HTMLResponse(html, status_code=status))
