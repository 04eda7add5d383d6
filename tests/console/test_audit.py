"""The audit trail: written by the services, so a change through the API is audited like one
in the console; read on the console's page and through GET /v1/audit (scope admin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simatch.domain.audit import Actor, AuditQuery
from simatch.stores.sqlite.audit import SqliteAuditLog
from tests.api.conftest import ApiFactory
from tests.console.conftest import Console


def test_api_changes_are_audited_and_listed_for_admins(make_api: ApiFactory) -> None:
    api = make_api()
    api.seed()
    curate = api.headers("curate")
    body = {"kind": "actor", "id": "a-uusi", "name": "Uusi ry", "description": "Kuvaus."}
    assert api.client.put("/v1/records/actor/a-uusi", json=body, headers=curate).status_code == 201
    same = api.client.put("/v1/records/actor/a-uusi", json=body, headers=curate)
    assert same.status_code == 200  # unchanged: nothing to audit
    changed = {**body, "description": "Toinen kuvaus."}
    assert api.client.put("/v1/records/actor/a-uusi", json=changed, headers=curate).is_success
    assert api.client.delete("/v1/records/actor/a-uusi", headers=curate).status_code == 204

    assert api.client.get("/v1/audit", headers=curate).status_code == 403
    assert api.client.get("/v1/audit").status_code == 401
    admin = api.headers("admin")
    listed = api.client.get("/v1/audit", headers=admin).json()
    assert [i["action"] for i in listed["items"]] == ["delete", "update", "create"]
    update = listed["items"][1]
    assert update["who"] == "test curate" and update["via"] == "api"
    assert update["before"]["description"] == "Kuvaus."
    assert update["after"]["description"] == "Toinen kuvaus."
    assert listed["items"][0]["after"] is None and listed["items"][2]["before"] is None
    page = api.client.get("/v1/audit", params={"limit": 2}, headers=admin).json()
    rest = api.client.get("/v1/audit", params={"cursor": page["next_cursor"]}, headers=admin).json()
    assert [i["action"] for i in rest["items"]] == ["create"] and rest["next_cursor"] is None
    only = api.client.get("/v1/audit", params={"action": "update"}, headers=admin).json()
    assert len(only["items"]) == 1
    kind = api.client.get("/v1/audit", params={"target": "need:"}, headers=admin).json()
    assert kind["items"] == []
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.client.get("/v1/audit", params={"since": later}, headers=admin).json()["items"] == []


def test_the_store_filters_by_who_action_target_and_time() -> None:
    now = [1_800_000_000.0]
    log = SqliteAuditLog(None, clock=lambda: now[0])
    kaisa, bot = Actor("Kaisa", "console", "k1"), Actor("sync", "api", "k2")
    log.append(kaisa, "create", "need:n-1", None, {"title": "A"})
    now[0] += 60
    log.append(bot, "update", "call:c-1", {"title": "B"}, {"title": "C"})
    now[0] += 60
    log.append(kaisa, "delete", "need:n-1", {"title": "A"}, None)
    assert [e.action for e in log.list(AuditQuery(who="Kaisa"))] == ["delete", "create"]
    assert [e.target for e in log.list(AuditQuery(target="call:"))] == ["call:c-1"]
    assert log.list(AuditQuery(target="call")) == []  # a prefix needs its colon
    middle = datetime.fromtimestamp(1_800_000_030, UTC)
    assert len(log.list(AuditQuery(since=middle))) == 2
    assert len(log.list(AuditQuery(until=middle))) == 1
    assert log.list(AuditQuery(since=datetime(1, 1, 1, tzinfo=UTC), limit=1))[0].action == "delete"
    newest = log.list(AuditQuery(limit=1))[0]
    assert [e.action for e in log.list(AuditQuery(before_id=newest.id))] == ["update", "create"]


def test_the_audit_page_lists_changes_with_filters(console: Console) -> None:
    records = console.api.box.record_service
    record = records.get("innovation", "i-kerho")
    records.put("innovation", "i-kerho", {**record, "title": "Nuorten iltakerho Kajaanissa"},
                Actor("sync bot", "api", "k9"))  # fmt: skip
    page = console.client.get("/console/audit").text
    assert "sync bot" in page and "Nuorten iltakerho Kajaanissa" in page
    assert "<del>Nuorten iltakerho</del>" in page
    assert "sync bot" not in console.client.get("/console/audit", params={"who": "Kaisa"}).text
    deleted = console.client.get("/console/audit", params={"action": "delete"}).text
    assert "sync bot" not in deleted


def test_an_api_import_is_audited_with_its_counts(make_api: ApiFactory) -> None:
    api = make_api()
    rows = (
        '{"kind": "need", "id": "n-1", "title": "Tarve", "description": "Kuvaus."}\n'
        '{"kind": "need", "id": "n-2", "title": ""}\n'
    )
    answer = api.client.post(
        "/v1/records/import",
        params={"filename": "tarpeet.jsonl"},
        content=rows.encode(),
        headers={**api.headers("curate"), "Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text
    (entry,) = api.client.get("/v1/audit", headers=api.headers("admin")).json()["items"]
    assert (entry["who"], entry["via"], entry["action"], entry["target"]) == (
        "test curate", "api", "import", "file:tarpeet.jsonl")  # fmt: skip
    assert entry["after"] == {"read": 2, "added": 1, "updated": 0, "unchanged": 0,
                              "rejected": 1, "duplicates": 0}  # fmt: skip
