"""`simatch serve` with SIMATCH_SYNC_INTERVAL syncs on its own in the background; matches are
answered while it runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.mocks.euft import PATH, EuftService
from tests.mocks.http import MockServer
from tests.serving import serving
from tests.sources.data import eu_topics


def test_serve_syncs_on_a_schedule_without_blocking_matches(tmp_path: Path) -> None:
    service = EuftService(eu_topics(), page_cap=3)
    # The source answers only once the test has seen the sync running, so matches are
    # provably answered while it runs, however slowly this machine starts the server.
    service.gate = threading.Event()
    with (
        MockServer(service) as mock,
        serving(
            tmp_path,
            SIMATCH_SYNC_INTERVAL="3600",
            SIMATCH_EUFT_URL=mock.base_url + PATH,
            SIMATCH_SOURCE_PAGE_DELAY="0",
        ) as served,
    ):
        token = served.create_key("curate")
        headers = {"Authorization": f"Bearer {token}"}
        saw_running = False
        deadline = time.monotonic() + 90
        while True:
            started = time.monotonic()
            match = httpx.post(f"{served.url}/v1/match", json={"text": "nuorten yksinäisyys"})
            assert match.status_code == 200 and time.monotonic() - started < 5
            items = httpx.get(f"{served.url}/v1/sources", headers=headers).json()["items"]
            eu = next(i for i in items if i["name"] == "eu-ft")
            saw_running = saw_running or eu["syncing"]
            if saw_running:
                service.gate.set()
            if eu["last_sync"] and eu["last_sync"]["status"] == "ok":
                break
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.2)
        assert saw_running and eu["calls"] == 5
        found = httpx.post(f"{served.url}/v1/match", json={"text": "loneliness of older people"})
        assert any(f["id"] == "ESF-SOCPL-2027-INNOV-01" for f in found.json()["funders"])
