"""Signing in: only a key of scope curate or admin opens the console; the session cookie is
HttpOnly, SameSite and Secure behind HTTPS; sessions end by signing out, by expiring and
when their key is revoked; nothing but the sign-in page without one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from simatch.console.app import STATIC
from simatch.errors import Forbidden, Unauthenticated
from simatch.services.sessions import SessionService
from simatch.stores.sqlite.keys import SqliteKeyStore
from simatch.stores.sqlite.sessions import SqliteSessionStore
from tests.api.conftest import ApiFactory
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
    service = SessionService(keys, SqliteSessionStore(None), timedelta(hours=8), lambda: now[0])
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


def test_the_pages_load_only_their_own_files(console: Console) -> None:
    page = console.client.get("/console/records")
    assert "https://" not in page.text.replace("https://example", "")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    served = console.client.get("/console/static/htmx/htmx.min.js")
    assert served.status_code == 200 and served.content == (HTMX / "htmx.min.js").read_bytes()
    for line in (HTMX / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((HTMX / name).read_bytes()).hexdigest() == digest, name


def test_the_language_is_chosen_and_kept(console: Console) -> None:
    assert "Tietueet" in console.client.get("/console/records").text  # Finnish by default
    english = console.client.get("/console/language/en?next=/console/records")
    assert english.status_code == 200 and "<h1>Records</h1>" in english.text
    swedish = console.client.get("/console/language/sv?next=https://evil.example/")
    assert str(swedish.url).endswith("/console/")  # never an open redirect
    assert 'lang="sv"' in swedish.text
