"""Staff see and start syncs over HTTP: GET /v1/sources, POST /v1/sources/sync (curate)."""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api, ApiFactory, assert_error
from tests.mocks.euft import PATH, EuftService
from tests.mocks.http import MockServer
from tests.sources.data import eu_topics


def wait_for_sync(api: Api, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = api.client.get("/v1/sources", headers=api.headers("curate")).json()["items"]
        source = next(i for i in items if i["name"] == name)
        if not source["syncing"] and source["last_sync"] and source["last_sync"]["finished_at"]:
            return source
        time.sleep(0.1)
    raise AssertionError(f"no finished sync of {name} within {timeout} s")


def test_staff_start_a_sync_and_read_its_result(make_api: ApiFactory) -> None:
    service = EuftService(eu_topics(), page_cap=3)
    with MockServer(service) as server:
        api = make_api(sources={"euft_url": server.base_url + PATH, "source_backoff": 0})
        assert_error(api.client.get("/v1/sources"), 401)
        assert_error(api.client.get("/v1/sources", headers=api.headers("match")), 403)
        assert_error(api.client.post("/v1/sources/sync", headers=api.headers("match")), 403)

        listed = api.client.get("/v1/sources", headers=api.headers("curate")).json()["items"]
        assert [s["name"] for s in listed] == ["eu-ft", "haeavustuksia"]
        assert all(s["last_sync"] is None and s["calls"] == 0 for s in listed)

        started = api.client.post(
            "/v1/sources/sync", params={"source": "eu-ft"}, headers=api.headers("curate")
        )
        assert started.status_code == 202 and started.json() == {"accepted": ["eu-ft"]}
        source = wait_for_sync(api, "eu-ft")
        last = source["last_sync"]
        assert last["status"] == "ok" and source["calls"] == 5
        assert last["counts"]["added"] == 5 and last["counts"]["rejected"] == 1
        assert last["rejections"][0]["id"] == "ESF-SOCPL-2027-BAD-07"

        found = api.client.post("/v1/match", json={"text": "loneliness of older people"})
        call = next(f for f in found.json()["funders"] if f["id"] == "ESF-SOCPL-2027-INNOV-01")
        assert call["provenance"]["source"] == "eu-ft" and call["days_to_deadline"] == 60

    unknown = api.client.post(
        "/v1/sources/sync", params={"source": "nowhere"}, headers=api.headers("curate")
    )
    assert_error(unknown, 404)


def test_one_sync_at_a_time_over_http(make_api: ApiFactory) -> None:
    service = EuftService(eu_topics(), page_cap=3)
    service.delay = 0.5
    with MockServer(service) as server:
        api = make_api(sources={"euft_url": server.base_url + PATH})
        first = api.client.post("/v1/sources/sync", headers=api.headers("curate"))
        assert first.status_code == 202 and first.json()["accepted"] == ["eu-ft", "haeavustuksia"]
        again = api.client.post("/v1/sources/sync", headers=api.headers("curate"))
        assert_error(again, 409)
        source = wait_for_sync(api, "haeavustuksia")
        assert source["last_sync"]["status"] == "failed"  # nothing listens there ...
        eu = wait_for_sync(api, "eu-ft")
        assert eu["last_sync"]["status"] == "ok"  # ... and the EU sync was not stopped by it
