"""A real browser for tests of pages (/docs, the staff console): Debian's Chromium driven by
Playwright, kept on loopback. Registered as a plugin in ``tests/conftest.py``.

- ``browser``: one headless Chromium per test module (``executable_path``; `playwright
  install` cannot download here, so scripts/setup installs Debian's ``chromium``). Not per
  session: Playwright's sync API keeps an event loop running in the main thread while it is
  open, and tests after it that run their own loop (``asyncio.run``) would fail. For the same
  reason keep async tests out of a module that uses the browser.
- ``loopback_page``: a fresh context and page per test. Every request the page makes is
  seen: those to loopback go through, any other is aborted and recorded, and the test fails
  if there was one. Chromium's own traffic goes to a dead proxy, so nothing leaves the
  machine even outside the page.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = os.environ.get("SIMATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Loopback bypasses proxies by default; everything else goes to a port nobody listens on.
    "--proxy-server=http://127.0.0.1:9",
]
LOCAL_SCHEMES = ("data:", "blob:", "about:")


def is_loopback(url: str) -> bool:
    if url.startswith(LOCAL_SCHEMES):
        return True
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class LoopbackPage:
    page: Page
    requests: list[str] = field(default_factory=list)
    left_loopback: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def loopback_page(browser: Browser) -> Iterator[LoopbackPage]:
    context = browser.new_context()
    page = context.new_page()
    seen = LoopbackPage(page)

    def guard(route: Route) -> None:
        url = route.request.url
        seen.requests.append(url)
        if is_loopback(url):
            route.continue_()
        else:
            seen.left_loopback.append(url)
            route.abort()

    context.route("**/*", guard)
    page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
    yield seen
    context.close()
    assert not seen.left_loopback, f"requests that left loopback: {seen.left_loopback}"
