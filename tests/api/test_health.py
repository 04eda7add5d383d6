"""Probes, metrics, request ids, and 503 + recovery when the index backend is down."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from simatch.errors import BackendUnavailable
from tests.api.conftest import Api, ApiFactory, assert_error, free_port

pytestmark = pytest.mark.filterwarnings("ignore:Failed to obtain server version:UserWarning")


def test_healthz_readyz_metrics(seeded: Api) -> None:
    client = seeded.client
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"model": "ok", "index": "ok"}}
    client.post("/v1/match", json={"text": "nuoret"})
    client.post("/v1/match", json={})
    client.get("/v1/records/innovation/{nope}")
    text = client.get("/metrics").text
    assert 'simatch_http_requests_total{method="POST",route="/v1/match",status="200"} 1.0' in text
    assert 'simatch_http_requests_total{method="POST",route="/v1/match",status="422"} 1.0' in text
    assert 'route="/v1/records/{kind}/{id}",status="404"' in text  # templates, not paths
    assert "simatch_match_duration_seconds_count 1.0" in text
    assert 'simatch_match_duration_seconds_bucket{le="0.05"}' in text


def test_each_app_has_its_own_registry(make_api: ApiFactory) -> None:
    first, second = make_api(), make_api()
    first.client.get("/healthz")
    assert 'route="/healthz"' in first.client.get("/metrics").text
    assert 'route="/healthz"' not in second.client.get("/metrics").text


def test_request_id_is_kept_or_made(api: Api) -> None:
    kept = api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    made = api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made.headers["x-request-id"] != "bad id\twith spaces"
    assert len(made.headers["x-request-id"]) == 32


def test_logs_carry_no_query_text_or_key(seeded: Api, caplog: pytest.LogCaptureFixture) -> None:
    secret_text = "Minun asiakkaani Matti Meikäläinen on yksinäinen"
    headers = seeded.headers("match")
    with caplog.at_level(logging.DEBUG, logger="simatch"):
        seeded.client.post("/v1/match", json={"text": secret_text}, headers=headers)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "POST /v1/match 200" in logged
    assert "Meikäläinen" not in logged
    assert headers["Authorization"].split()[1] not in logged


def test_index_server_unreachable_is_503_with_retry_after(make_api: ApiFactory) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    api = make_api(index={"qdrant_url": url, "qdrant_timeout": 1})
    response = api.client.post("/v1/match", json={"text": "nuoret"})
    error = assert_error(response, 503, "backend_unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert "127.0.0.1" not in error["message"]
    assert_error(api.client.get("/v1/records"), 503)
    assert api.client.get("/healthz").status_code == 200
    ready = api.client.get("/readyz")
    error = assert_error(ready, 503, "not_ready")
    assert error["details"]["checks"]["index"] == "not open: backend_unavailable"
    assert ready.headers["retry-after"]


class Flaky:
    """An open index whose backend can be switched off and on."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.down = False

    def ping(self) -> bool:
        return not self.down and bool(self.inner.ping())

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise BackendUnavailable("connection refused")
            return attr(*args, **kwargs)

        return call


def test_outage_gives_503_and_the_service_recovers_by_itself(make_api: ApiFactory) -> None:
    api = make_api(wrap_index=Flaky)
    flaky = api.box.index
    assert isinstance(flaky, Flaky)
    api.seed()
    body = {"text": "nuoret kokoontuvat"}
    assert api.client.post("/v1/match", json=body).status_code == 200

    flaky.down = True
    assert_error(api.client.post("/v1/match", json=body), 503, "backend_unavailable")
    assert_error(api.client.get("/readyz"), 503, "not_ready")

    flaky.down = False
    assert api.client.post("/v1/match", json=body).json()["solutions"]
    assert api.client.get("/readyz").status_code == 200


def test_cors_is_off_unless_origins_are_set(make_api: ApiFactory) -> None:
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"}
    closed = make_api().client.options("/v1/match", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    api = make_api(api={"cors_origins": "https://ui.example"})
    allowed = api.client.options(
        "/v1/match", headers={**preflight, "Access-Control-Request-Headers": "authorization"}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
    denied = api.client.options(
        "/v1/match", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in denied.headers
