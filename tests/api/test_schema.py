"""The OpenAPI schema says what the server does, for the settings in force (``openapi.py``).
The fuzzer in test_contract.py checks the server against it; these check the schema's own
promises: security per operation, the error responses and headers, configured bounds, ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs

from tests.api.conftest import Api, ApiFactory

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def operations(api: Api) -> dict[str, dict[str, Any]]:
    paths = api.client.get("/openapi.json").json()["paths"]
    return {f"{m.upper()} {p}": op for p, methods in paths.items() for m, op in methods.items()}


def test_security_is_declared_per_operation_as_configured(make_api: ApiFactory) -> None:
    open_ops = {"POST /v1/match", "GET /v1/records", "GET /v1/records/{kind}/{id}",
                "POST /v1/feedback", "POST /v1/needs", "POST /v1/subscriptions",
                "GET /v1/subscriptions/{subscription_id}",
                "DELETE /v1/subscriptions/{subscription_id}"}  # fmt: skip
    for config in ({}, {"require_key_for_match": True}):
        for label, op in operations(make_api(api=config)).items():
            if not label.split()[1].startswith("/v1/"):
                assert "security" not in op and "401" not in op["responses"], label
                continue
            # Every /v1 operation declares its access (an access dependency), one of two ways.
            assert op["security"] in ([{"ApiKey": []}], [{}, {"ApiKey": []}]), label
            assert "401" in op["responses"] and "429" in op["responses"], label
            keyed = op["security"] == [{"ApiKey": []}]
            assert ("403" in op["responses"]) == keyed == ("x-required-scope" in op), label
            if label in open_ops:
                assert keyed == bool(config), label
                assert op.get("x-required-scope", "match") == "match"
            elif keyed:
                assert op["x-required-scope"] in ("curate", "admin"), label


def test_every_error_answer_is_documented_with_the_error_body_and_its_headers(api: Api) -> None:
    for label, op in operations(api).items():
        responses = op["responses"]
        assert "500" in responses, label
        if op.get("parameters") or "requestBody" in op:
            assert "422" in responses, label
        if "requestBody" in op:
            assert {"400", "413"} <= set(responses), label
        for status, response in responses.items():
            assert response["headers"]["X-Request-ID"]["required"] is True, (label, status)
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR, label
        for status, header in (("429", "Retry-After"), ("503", "Retry-After"),
                               ("401", "WWW-Authenticate")):  # fmt: skip
            if status in responses:
                assert header in responses[status]["headers"], (label, status)
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ErrorBody" in schemas


def test_bounds_that_come_from_settings_are_the_configured_ones(make_api: ApiFactory) -> None:
    api = make_api(match={"match_max_limit": 12, "max_text_chars": 300})
    schema = api.client.get("/openapi.json").json()
    text = str(schema)
    assert "x-simatch-configured" not in text
    request = schema["components"]["schemas"]["MatchRequest"]["properties"]
    assert request["text"]["maxLength"] == 300
    assert request["limit"]["anyOf"][0]["maximum"] == 12
    # ... and the server holds to exactly those.
    assert api.client.post("/v1/match", json={"text": "a" * 300, "limit": 12}).status_code == 200
    assert api.client.post("/v1/match", json={"text": "a" * 301}).status_code == 422
    assert api.client.post("/v1/match", json={"text": "nuoret", "limit": 13}).status_code == 422


def test_operation_ids_are_the_route_names_and_unique(api: Api) -> None:
    ops = operations(api)
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert ops["POST /v1/match"]["operationId"] == "match"
    assert ops["PUT /v1/records/{kind}/{id}"]["operationId"] == "put_record"
    assert all(op.get("tags") and op.get("summary") for op in ops.values())


def test_the_import_body_lists_exactly_the_media_types_the_server_reads(api: Api) -> None:
    import_op = operations(api)["POST /v1/records/import"]
    listed = set(import_op["requestBody"]["content"])
    curate = api.headers("curate")
    line = b'{"kind": "actor", "id": "a1", "name": "N", "description": "D"}\n'
    for media in listed - {"multipart/form-data"}:
        sent = api.client.post(
            "/v1/records/import", content=line, headers={**curate, "Content-Type": media}
        )
        assert sent.status_code == 200, (media, sent.text)
    refused = api.client.post(
        "/v1/records/import", content=line, headers={**curate, "Content-Type": "text/html"}
    )
    assert refused.status_code == 415


def _examples(node: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    """(schema, example) for every example a media type or a schema carries."""
    if isinstance(node, dict):
        schema = node.get("schema")
        if isinstance(schema, dict):
            if "example" in node:
                yield schema, node["example"]
            for named in node.get("examples", {}).values():
                yield schema, named["value"]
        if isinstance(node.get("examples"), list) and "type" in node:
            yield from ((node, e) for e in node["examples"])
        for value in node.values():
            yield from _examples(value)
    elif isinstance(node, list):
        for item in node:
            yield from _examples(item)


def test_every_example_is_valid_by_its_own_schema(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    checked = 0
    for sub, example in _examples(schema["paths"] | schema["components"]["schemas"]):
        validator = jsonschema_rs.validator_for(
            {**sub, "components": schema["components"]}, validate_formats=True
        )
        assert validator.is_valid(example), (sub, example)
        checked += 1
    assert checked >= 10
