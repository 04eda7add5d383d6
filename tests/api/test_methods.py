"""Methods as HTTP tells them: `Allow` on every 405 lists all of a path's methods, OPTIONS
answers 204 with `Allow`, and with CORS on, preflights get CORS headers."""

from __future__ import annotations

from tests.api.conftest import Api, ApiFactory, assert_error


def test_allow_lists_every_method_of_the_path(api: Api) -> None:
    expected = {
        "/v1/feedback": "GET, HEAD, OPTIONS, POST",
        "/v1/keys": "GET, HEAD, OPTIONS, POST",
        "/v1/records/innovation/x": "DELETE, GET, HEAD, OPTIONS, PUT",
        "/v1/records/import": "OPTIONS, POST",
        "/v1/match": "OPTIONS, POST",
        "/healthz": "GET, HEAD, OPTIONS",
    }
    for path, allow in expected.items():
        options = api.client.options(path)
        assert options.status_code == 204 and options.content == b"", path
        assert options.headers["allow"] == allow, path
        assert options.headers["x-request-id"]
        wrong = api.client.patch(path, json={})
        assert_error(wrong, 405, "method_not_allowed")
        assert wrong.headers["allow"] == allow, path
    assert_error(api.client.options("/nowhere"), 404)
    static = api.client.post("/docs/static/swagger-ui.css")
    assert static.status_code == 405 and static.headers["allow"] == "GET, HEAD"


def test_cors_preflights_are_answered_by_cors_and_plain_options_by_allow(
    make_api: ApiFactory,
) -> None:
    api = make_api(api={"cors_origins": "https://app.example"})
    preflight = api.client.options(
        "/v1/match",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    plain = api.client.options("/v1/match")
    assert plain.status_code == 204 and plain.headers["allow"] == "OPTIONS, POST"
