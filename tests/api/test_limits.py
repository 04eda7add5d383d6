"""Limits (413, 422), rate limits (429 + Retry-After) and the one error shape everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simatch.api.deps import get_match_service
from simatch.api.rate_limit import RateLimiter
from simatch.errors import RateLimited
from simatch.stores.memory import MemoryRateBuckets
from tests.api.conftest import Api, ApiFactory, assert_error, serve_in_thread


def test_text_too_long_is_422_naming_the_field(make_api: ApiFactory) -> None:
    api = make_api(match={"max_text_chars": 50})
    error = assert_error(api.client.post("/v1/match", json={"text": "sana " * 20}), 422, "too_long")
    assert error["details"] == {"field": "text", "max": 50}
    assert_error(api.client.post("/v1/match", json={"text": "   "}), 422, "invalid_input")


def test_body_over_the_limit_is_413(make_api: ApiFactory) -> None:
    api = make_api(api={"max_body_bytes": 8192}, match={"max_text_chars": 500})
    big = {"text": "a" * 20_000}
    error = assert_error(api.client.post("/v1/match", json=big), 413, "too_large")
    assert error["details"] == {"max_bytes": 8192}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams in
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 1000
        yield b'"}'

    with serve_in_thread(api.app) as url:
        streamed = httpx.post(
            f"{url}/v1/match", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert_error(streamed, 413, "too_large")


def test_other_request_limits_are_422(api: Api) -> None:
    client = api.client
    assert_error(client.post("/v1/match", json={"text": "x", "limit": 0}), 422)
    assert_error(client.post("/v1/match", json={"text": "x", "limit": 51}), 422)  # > max limit
    assert_error(client.post("/v1/match", json={"text": "x", "regions": ["r"] * 21}), 422)
    error = assert_error(client.post("/v1/match", json={"text": "x", "region": ["Kainuu"]}), 422)
    assert error["details"][0]["field"] == "region"  # typos are not silently ignored
    assert_error(client.post("/v1/match", json={"text": "x", "sections": ["gossip"]}), 422)
    assert_error(client.post("/v1/match", json=["text"]), 422)


def test_rate_limit_per_client_address(make_api: ApiFactory) -> None:
    api = make_api(api={"rate_limit_per_client": 6, "rate_limit_burst": 3})
    api.seed()
    statuses = [api.client.post("/v1/match", json={"text": "nuoret"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.client.post("/v1/match", json={"text": "nuoret"})
    error = assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 10  # 6/min: one every 10 s
    assert error["details"]["retry_after"] > 0
    # A key has its own bucket; probes are never limited.
    assert api.client.get("/healthz").status_code == 200
    keyed = api.client.post("/v1/match", json={"text": "nuoret"}, headers=api.headers("match"))
    assert keyed.status_code == 200


def test_rate_limit_per_key(make_api: ApiFactory) -> None:
    api = make_api(api={"rate_limit_per_key": 6, "rate_limit_burst": 2})
    headers = api.headers("curate")
    statuses = [api.client.get("/v1/records", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert api.client.get("/v1/records").status_code == 200  # anonymous: other bucket (off)


def test_wrong_keys_are_rate_limited_by_address(make_api: ApiFactory) -> None:
    api = make_api(api={"rate_limit_per_client": 6, "rate_limit_burst": 2})
    guess = {"Authorization": "Bearer smk_guess"}
    statuses = [api.client.get("/v1/records", headers=guess).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_a_missing_key_is_told_before_any_rate_limit(make_api: ApiFactory) -> None:
    api = make_api(api={"rate_limit_per_client": 6, "rate_limit_burst": 2})
    refused = [api.client.get("/v1/gaps").status_code for _ in range(4)]
    assert refused == [401] * 4  # refused at once, no token spent
    opened = [api.client.get("/v1/records").status_code for _ in range(3)]
    assert opened == [200, 200, 429]  # the address's tokens were all still there


def test_token_bucket_refills() -> None:
    now = [0.0]
    buckets = MemoryRateBuckets(clock=lambda: now[0])
    limiter = RateLimiter(per_minute=60, burst=2, buckets=lambda: buckets)
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(RateLimited) as caught:
        limiter.hit("a")
    assert caught.value.retry_after == pytest.approx(1.0)
    now[0] = 1.0
    limiter.hit("a")
    unused = MemoryRateBuckets()
    RateLimiter(per_minute=0, burst=1, buckets=lambda: unused).hit("x")  # 0 = off


def test_every_error_path_has_the_error_shape(seeded: Api) -> None:
    client = seeded.client
    curate, match = seeded.headers("curate"), seeded.headers("match")
    cases = [
        (client.get("/nowhere"), 404, "not_found"),
        (client.get("/v1/records/innovation/none"), 404, "not_found"),
        (client.delete("/v1/match"), 405, "method_not_allowed"),
        (
            client.post("/v1/match", content=b"{", headers={"Content-Type": "application/json"}),
            422,
            "invalid_input",
        ),
        (client.post("/v1/match", json={}), 422, "invalid_input"),
        (client.put("/v1/records/innovation/x", json={}), 401, "unauthenticated"),
        (client.put("/v1/records/innovation/x", json={}, headers=match), 403, "forbidden"),
        (client.put("/v1/records/innovation/x", json={}, headers=curate), 422, "invalid_input"),
        (
            client.post(
                "/v1/records/import", content=b"x", headers={**curate, "Content-Type": "image/png"}
            ),
            415,
            None,
        ),
        (client.get("/v1/feedback", params={"cursor": "x"}, headers=curate), 422, None),
    ]
    for response, status, code in cases:
        assert_error(response, status, code)
    assert client.delete("/v1/match").headers["allow"] == "OPTIONS, POST"


def test_unexpected_failures_are_500_with_the_shape_and_no_internals(seeded: Api) -> None:
    class Broken:
        def match(self, query: object, **options: object) -> None:
            raise RuntimeError("secret internals /etc/passwd")

    seeded.app.dependency_overrides[get_match_service] = Broken
    response = seeded.client.post(
        "/v1/match", json={"text": "nuoret"}, headers={"X-Request-ID": "req-42"}
    )
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text
    assert error["details"] == {"request_id": "req-42"}
    assert response.headers["x-request-id"] == "req-42"
