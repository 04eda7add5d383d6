"""Record CRUD, listing with cursors and filters."""

from __future__ import annotations

from tests.api.conftest import SEED, Api, assert_error

NEW = {
    "kind": "innovation",
    "id": "i-lumi",
    "title": "Lumitöitä ikäihmisille",
    "summary": "Koululaiset tekevät lumitöitä ikäihmisten pihoilla talkoovoimin.",
    "organisation": "Lumi ry",
    "regions": ["Lappi"],
    "source_system": "kept as is",
}


def test_crud_round_trip_and_match_finds_the_record(seeded: Api) -> None:
    client, curate = seeded.client, seeded.headers("curate")
    url = "/v1/records/innovation/i-lumi"
    assert_error(client.get(url), 404, "not_found")

    created = client.put(url, json=NEW, headers=curate)
    assert created.status_code == 201, created.text
    assert created.json()["title"] == NEW["title"]
    assert created.json()["source_system"] == "kept as is"  # unknown fields survive

    found = client.post("/v1/match", json={"text": "lumitöitä ikäihmisten pihoilla"}).json()
    assert found["solutions"][0]["id"] == "i-lumi"

    assert client.get(url).json()["regions"] == ["Lappi"]
    same = client.put(url, json=NEW, headers=curate)
    assert same.status_code == 200
    changed = client.put(url, json={**NEW, "title": "Lumityöt"}, headers=curate)
    assert changed.status_code == 200 and changed.json()["title"] == "Lumityöt"

    deleted = client.delete(url, headers=curate)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(client.get(url), 404, "not_found")
    assert_error(client.delete(url, headers=curate), 404, "not_found")
    after = client.post("/v1/match", json={"text": "lumitöitä ikäihmisten pihoilla"}).json()
    assert "i-lumi" not in {s["id"] for s in after["solutions"]}


def test_put_validation_names_the_field(api: Api) -> None:
    client, curate = api.client, api.headers("curate")
    url = "/v1/records/innovation/i-x"
    error = assert_error(
        client.put(url, json={"kind": "innovation", "id": "i-x", "summary": "s"}, headers=curate),
        422,
        "invalid_input",
    )
    assert error["details"][0]["field"] == "title"
    assert error["message"].startswith("title:")
    # A body for another resource than the URL's: 409, as RFC 9110 (9.3.4) suggests for PUT.
    mismatch = client.put(url, json={**NEW, "id": "other"}, headers=curate)
    assert assert_error(mismatch, 409, "conflict")["details"]["field"] == "id"
    wrong_kind = client.put(url, json={**NEW, "kind": "need", "description": "d"}, headers=curate)
    assert assert_error(wrong_kind, 409)["details"]["field"] == "kind"
    no_kind = {k: v for k, v in NEW.items() if k != "kind"}
    assert_error(client.put(url, json=no_kind, headers=curate), 422)  # the schema requires it
    bad_call = {
        "kind": "call",
        "id": "c",
        "title": "t",
        "description": "d",
        "funder": "f",
        "deadline": "next week",
    }
    error = assert_error(client.put("/v1/records/call/c", json=bad_call, headers=curate), 422)
    assert error["details"][0]["field"] == "deadline"
    assert_error(client.put("/v1/records/gadget/x", json=NEW, headers=curate), 422)
    assert_error(
        client.put(
            url, content=b"{not json", headers={**curate, "Content-Type": "application/json"}
        ),
        422,
    )


def test_list_pages_with_a_cursor_and_filters(seeded: Api) -> None:
    client = seeded.client
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/records", params=params).json()
        assert len(page["items"]) <= 2
        seen += [f"{r['kind']}:{r['id']}" for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"{r['kind']}:{r['id']}" for r in SEED)
    assert pages >= 3

    innovations = client.get("/v1/records", params={"kind": "innovation"}).json()
    assert {r["id"] for r in innovations["items"]} == {"i-olohuone", "i-kerho", "i-ruoka"}
    assert innovations["next_cursor"] is None

    found = client.get("/v1/records", params={"q": "KYLÄ RY"}).json()["items"]
    assert {r["id"] for r in found} == {"i-olohuone", "a-kyla"}  # organisation and name
    # q with a small limit still walks every record, page by page
    ids: list[str] = []
    cursor = None
    while True:
        params = {"q": "nuor", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/records", params=params).json()
        ids += [r["id"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(ids) == ["c-stea", "i-kerho", "i-olohuone", "n-yksin"]


def test_list_rejects_bad_parameters(seeded: Api) -> None:
    client = seeded.client
    assert_error(client.get("/v1/records", params={"cursor": "garbage"}), 422, "invalid_input")
    error = assert_error(client.get("/v1/records", params={"limit": 0}), 422)
    assert error["details"][0] == {
        "field": "limit",
        "in": "query",
        "message": error["details"][0]["message"],
    }
    assert_error(client.get("/v1/records", params={"kind": "gadget"}), 422)
