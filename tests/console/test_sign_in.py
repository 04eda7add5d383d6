"""Signing in: only a key of scope curate or admin opens the console; the session cookie is
HttpOnly, SameSite and Secure behind HTTPS; sessions end by signing out, by expiring and
when their key is revoked; nothing but the sign-in page without one."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from simatch.chat.catalogue import Catalogue
from simatch.console.app import STATIC
from simatch.console.security import SESSION_COOKIE
from simatch.errors import Forbidden, Unauthenticated
from simatch.services.sessions import SessionService
from simatch.stores.sqlite.keys import SqliteKeyStore
from simatch.stores.sqlite.sessions import SqliteSessionStore
from tests.api.conftest import ApiFactory, serve_in_thread
from tests.console.conftest import Console, sign_in

HTMX = STATIC / "htmx"
RECORD = "/console/records/innovation/i-kerho"
PAGES = ["/console/", "/console/records", RECORD, f"{RECORD}/edit", "/console/records/new",
         "/console/audit"]  # fmt: skip


def test_without_a_session_every_page_leads_to_the_sign_in(make_api: ApiFactory) -> None:
    api = make_api()
    for path in PAGES:
        answer = api.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/sign-in?next="), path
        assert "ended" not in answer.headers["location"]  # no session had begun
    page = api.client.get("/console/records", follow_redirects=True)
    assert 'name="key"' in page.text and "i-kerho" not in page.text
    # htmx is told to load the sign-in page as a whole, not swap it into a list
    partial = api.client.get("/console/records", headers={"HX-Request": "true"})
    assert partial.status_code == 204 and partial.headers["HX-Redirect"].startswith(
        "/console/sign-in"
    )
    posted = api.client.post("/console/records/innovation/i-kerho/delete", follow_redirects=False)
    assert posted.status_code == 303


def test_a_key_without_curate_is_refused_and_a_curate_key_signs_in(make_api: ApiFactory) -> None:
    api = make_api()
    _, match_token = api.box.keys.create("matcher", ["match"])
    refused = sign_in(api.client, match_token)
    assert refused.status_code == 403 and "curate" in refused.text
    assert "simatch_console=" not in refused.headers.get("set-cookie", "")
    unknown = sign_in(api.client, "smk_" + "x" * 43)
    assert unknown.status_code == 401

    _, token = api.box.keys.create("Kaisa", ["curate"])
    accepted = sign_in(api.client, token, "/console/records")
    assert accepted.status_code == 303 and accepted.headers["location"] == "/console/records"
    cookie = next(c for c in accepted.headers.get_list("set-cookie") if "simatch_console=" in c)
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/console" in cookie.lower()
    assert "secure" not in attributes  # plain http on loopback
    assert token not in cookie  # the key never reaches the browser's storage
    assert api.client.get("/console/records").status_code == 200


def test_behind_https_the_cookie_is_secure(make_api: ApiFactory) -> None:
    api = make_api()
    _, token = api.box.keys.create("Kaisa", ["admin"])
    client = TestClient(api.app, base_url="https://testserver")
    answer = sign_in(client, token)
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "simatch_console=" in c)
    assert "secure" in cookie.lower()


def test_sign_in_needs_the_forms_own_token(make_api: ApiFactory) -> None:
    api = make_api()
    _, token = api.box.keys.create("Kaisa", ["curate"])
    forged = api.client.post(
        "/console/sign-in", data={"key": token, "token": "guess"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert api.client.get("/console/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session(console: Console) -> None:
    csrf = console.csrf()
    out = console.client.post("/console/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    # The old cookie is no longer accepted either, even if a browser kept it.
    assert console.client.get("/console/", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions(console: Console) -> None:
    key = next(k for k in console.api.box.keys.list() if k.name == console.key_name)
    console.api.box.keys.revoke(key.id)
    assert console.client.get("/console/", follow_redirects=False).status_code == 303


def test_sessions_expire() -> None:
    now = [datetime(2027, 1, 1, 8, 0, tzinfo=UTC)]
    keys = SqliteKeyStore(None)
    service = SessionService(
        keys, SqliteSessionStore(None), timedelta(hours=8), clock=lambda: now[0]
    )
    _, token = keys.create("Kaisa", ["curate"])
    session, session_id = service.sign_in(token)
    assert session.expires - session.created == timedelta(hours=8)
    assert service.current(session_id) == session
    assert (
        len(session_id) >= 40 and session.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    )
    now[0] += timedelta(hours=7, minutes=59)
    assert service.current(session_id) is not None
    now[0] += timedelta(minutes=2)
    assert service.current(session_id) is None
    assert service.store.purge(now[0]) == 1
    _, weak = keys.create("matcher", ["match"])
    with pytest.raises(Forbidden):
        service.sign_in(weak)
    with pytest.raises(Unauthenticated):
        service.sign_in("smk_nope")


def test_an_idle_session_ends_and_a_used_one_lasts_its_lifetime() -> None:
    start = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    now = [start]
    keys = SqliteKeyStore(None)
    store = SqliteSessionStore(None)
    service = SessionService(keys, store, timedelta(hours=8), timedelta(hours=1), lambda: now[0])
    _, token = keys.create("Kaisa", ["curate"])
    idle, idle_id = service.sign_in(token)
    assert idle.expires == start + timedelta(hours=1)
    used, used_id = service.sign_in(token)
    # Used every 50 minutes: alive past the idle time, ended by its lifetime all the same.
    while now[0] + timedelta(minutes=50) < start + timedelta(hours=8):
        now[0] += timedelta(minutes=50)
        found = service.current(used_id)
        assert found is not None, now[0]
        assert found.expires == min(now[0] + timedelta(hours=1), start + timedelta(hours=8))
        assert store.get(used.id_hash, now[0]) == found  # kept by the server, not the browser
    assert service.current(idle_id) is None  # an hour unused: ended
    now[0] = start + timedelta(hours=8)
    assert service.current(used_id) is None
    # A request soon after the last does not write (the end moves by less than a minute).
    now[0] = start
    fresh, fresh_id = service.sign_in(token)
    now[0] += timedelta(seconds=30)
    assert service.current(fresh_id) == fresh
    now[0] += timedelta(seconds=31)
    assert service.current(fresh_id) == replace(fresh, expires=now[0] + timedelta(hours=1))
    service.sign_out(fresh_id)
    assert service.current(fresh_id) is None


def test_over_http_an_idle_session_ends_on_the_server(make_api: ApiFactory) -> None:
    api = make_api(api={"console_idle_minutes": 30})
    now = [datetime.now(UTC)]
    api.box.session_service.clock = lambda: now[0]
    _, token = api.box.keys.create("Kaisa", ["curate"])
    ended_text = Catalogue.load().text("en", "console_session_ended")
    headers = {"Accept-Language": "en"}
    with serve_in_thread(api.app) as base, httpx.Client(base_url=base, headers=headers) as client:
        signed = sign_in(client, token)
        assert signed.status_code == 303
        cookie = client.cookies[SESSION_COOKIE]
        assert "max-age=28800" in signed.headers["set-cookie"].lower()  # the lifetime, 8 h
        for _ in range(3):  # used every 29 minutes: 87 minutes on, still signed in
            now[0] += timedelta(minutes=29)
            assert client.get("/console/", follow_redirects=False).status_code == 200
        now[0] += timedelta(minutes=31)  # then left for longer than the idle time
        ended = client.get("/console/records?q=nuoret", follow_redirects=False)
        assert ended.status_code == 303
        assert ended.headers["location"] == (
            "/console/sign-in?next=%2Fconsole%2Frecords%3Fq%3Dnuoret&ended=1"
        )
        assert SESSION_COOKIE not in client.cookies  # the browser is told to drop it
        page = client.get(ended.headers["location"])
        assert page.status_code == 200 and ended_text in page.text
        # A browser that kept the cookie gets nothing either: the server ended the session.
        client.cookies.set(SESSION_COOKIE, cookie, path="/console")
        partial = client.get("/console/records", headers={"HX-Request": "true"})
        assert partial.status_code == 204 and partial.headers["HX-Redirect"].endswith("&ended=1")
        # Signing in again works.
        client.cookies.clear()
        assert sign_in(client, token).status_code == 303
        assert client.get("/console/", follow_redirects=False).status_code == 200
