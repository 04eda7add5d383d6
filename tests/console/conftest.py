"""The console through the real app (TestClient) on the API's fixtures, signed in with a key."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api, ApiFactory, analyzer, make_api

__all__ = ["Console", "analyzer", "make_api"]


@dataclass
class Console:
    api: Api
    client: TestClient
    key_name: str

    def csrf(self, path: str = "/console/records") -> str:
        """The session's CSRF token, as a page carries it."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text[:500]
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text[:2000]
        return found[1]


def sign_in(client: httpx.Client, token: str, next_url: str = "/console/") -> httpx.Response:
    """Posts the sign-in form as a browser would (its double-submit token included)."""
    form = client.get("/console/sign-in")
    found = re.search(r'name="token" value="([^"]+)"', form.text)
    assert found, form.text[:1000]
    return client.post(
        "/console/sign-in",
        data={"key": token, "token": found[1], "next": next_url},
        follow_redirects=False,
    )


@pytest.fixture
def console(make_api: ApiFactory) -> Console:
    api = make_api()
    api.seed()
    key, token = api.box.keys.create("Kaisa (curator)", ["curate"])
    answer = sign_in(api.client, token)
    assert answer.status_code == 303, answer.text[:500]
    return Console(api, api.client, key.name)
