"""API keys and scopes: 401 without a (valid) key, 403 without the scope."""

from __future__ import annotations

from simatch.domain.ports import SearchFilter
from tests.api.conftest import SEED, Api, ApiFactory, assert_error

RECORD = {
    "kind": "innovation",
    "id": "i-new",
    "title": "Uusi ratkaisu",
    "summary": "Nuorten yksinäisyyteen vertaistukea.",
}


def test_matching_is_open_by_default(seeded: Api) -> None:
    response = seeded.client.post("/v1/match", json={"text": "yksinäiset nuoret"})
    assert response.status_code == 200
    assert response.json()["match_id"]


def test_a_sent_but_unknown_key_is_401_even_where_none_is_needed(seeded: Api) -> None:
    for header in ("Bearer smk_not-a-real-key", "Bearer ", "Basic dXNlcjpwYXNz", "smk_x"):
        response = seeded.client.post(
            "/v1/match", json={"text": "nuoret"}, headers={"Authorization": header}
        )
        error = assert_error(response, 401, "unauthenticated")
        assert "unknown or revoked" in error["message"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_require_key_for_match(make_api: ApiFactory) -> None:
    api = make_api(api={"require_key_for_match": True})
    api.seed()
    body = {"text": "yksinäiset nuoret"}
    assert_error(api.client.post("/v1/match", json=body), 401, "unauthenticated")
    assert_error(api.client.get("/v1/records"), 401)
    for scope in ("match", "curate", "admin"):  # ranked: higher scopes include match
        assert (
            api.client.post("/v1/match", json=body, headers=api.headers(scope)).status_code == 200
        )


def test_record_changes_need_curate(seeded: Api) -> None:
    url = "/v1/records/innovation/i-new"
    assert_error(seeded.client.put(url, json=RECORD), 401, "unauthenticated")
    error = assert_error(
        seeded.client.put(url, json=RECORD, headers=seeded.headers("match")), 403, "forbidden"
    )
    assert error["details"]["required_scope"] == "curate"
    assert seeded.client.put(url, json=RECORD, headers=seeded.headers("curate")).status_code == 201
    # admin includes curate
    assert seeded.client.delete(url, headers=seeded.headers("admin")).status_code == 204


def test_feedback_listing_needs_curate(seeded: Api) -> None:
    assert_error(seeded.client.get("/v1/feedback"), 401)
    assert_error(seeded.client.get("/v1/feedback", headers=seeded.headers("match")), 403)
    assert seeded.client.get("/v1/feedback", headers=seeded.headers("curate")).status_code == 200


def test_key_management_needs_admin(api: Api) -> None:
    assert_error(api.client.get("/v1/keys"), 401)
    assert_error(api.client.get("/v1/keys", headers=api.headers("curate")), 403)
    created = api.client.post(
        "/v1/keys", json={"name": "integrator", "scopes": ["match"]}, headers=api.headers("admin")
    )
    assert created.status_code == 201
    token = created.json()["token"]
    key_id = created.json()["key"]["id"]
    listed = api.client.get("/v1/keys", headers=api.headers("admin")).json()
    assert key_id in {k["id"] for k in listed}
    assert all("token" not in k and "hash" not in k for k in listed)
    mine = {"Authorization": f"Bearer {token}"}
    assert api.client.post("/v1/match", json={"text": "nuoret"}, headers=mine).status_code == 200
    revoked = api.client.delete(f"/v1/keys/{key_id}", headers=api.headers("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked"]
    assert_error(api.client.post("/v1/match", json={"text": "nuoret"}, headers=mine), 401)
    assert_error(api.client.delete("/v1/keys/0123456789ab", headers=api.headers("admin")), 404)
    assert_error(api.client.delete("/v1/keys/nope", headers=api.headers("admin")), 422)


def test_keys_are_stored_hashed(api: Api) -> None:
    token = api.headers("curate")["Authorization"].removeprefix("Bearer ")
    raw = (api.box.settings.index.data_dir / "keys.sqlite").read_bytes()
    assert token.encode() not in raw
    key = api.box.keys.authenticate(token)
    assert key is not None and key.last_used is not None


def test_anonymous_callers_cannot_change_or_delete_records(seeded: Api) -> None:
    before = {
        h.key: h.payload["content_hash"] for h in seeded.box.index.scroll(SearchFilter(), 100)[0]
    }
    client = seeded.client
    existing = SEED[0]
    changed = {**existing, "title": "Muutettu"}
    lines = '{"kind": "need", "id": "n-anon", "title": "T", "description": "D"}\n'
    for headers in ({}, {"Authorization": "Bearer smk_guess"}, seeded.headers("match")):
        attempts = [
            client.put(f"/v1/records/innovation/{existing['id']}", json=changed, headers=headers),
            client.put(
                "/v1/records/innovation/i-anon", json={**RECORD, "id": "i-anon"}, headers=headers
            ),
            client.delete(f"/v1/records/innovation/{existing['id']}", headers=headers),
            client.post(
                "/v1/records/import",
                content=lines,
                headers={**headers, "Content-Type": "application/x-ndjson"},
            ),
            client.post("/v1/records/import", files={"file": ("x.jsonl", lines)}, headers=headers),
            client.post("/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=headers),
        ]
        for response in attempts:
            assert response.status_code in (401, 403), (response.request.url, response.text)
    after = {
        h.key: h.payload["content_hash"] for h in seeded.box.index.scroll(SearchFilter(), 100)[0]
    }
    assert after == before


def test_a_key_cannot_revoke_itself_over_the_api(api: Api) -> None:
    admin = api.headers("admin")
    own = next(
        k for k in api.client.get("/v1/keys", headers=admin).json() if k["name"] == "test admin"
    )
    error = assert_error(api.client.delete(f"/v1/keys/{own['id']}", headers=admin), 409, "conflict")
    assert error["details"] == {"key_id": own["id"]}
    assert api.client.get("/v1/keys", headers=admin).status_code == 200  # still valid
