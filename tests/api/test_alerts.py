"""Following needs over HTTP: needs, subscriptions, who may read and end them, and the
one-click unsubscribe link (no key; a GET only shows the button)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, ApiFactory, assert_error

NEED = {"title": "Yksinäiset nuoret", "description": "Nuoret ovat yksinäisiä kylällä.",
        "organisation": "Pikkukunta", "regions": ["Kainuu"]}  # fmt: skip


def subscribe(api: Api, headers: dict[str, str] | None = None, **body: Any) -> Any:
    need = api.client.post("/v1/needs", json=NEED, headers=headers or {})
    assert need.status_code == 201, need.text
    assert need.json()["kind"] == "need" and need.json()["organisation"] == "Pikkukunta"
    request = {"need_id": need.json()["id"], "channel": "webhook",
               "url": "https://example.org/hook", **body}  # fmt: skip
    return api.client.post("/v1/subscriptions", json=request, headers=headers or {})


def test_follow_a_need_read_and_end_the_subscription(seeded: Api) -> None:
    created = subscribe(seeded, frequency="weekly")
    assert created.status_code == 201, created.text
    sub = created.json()
    assert len(sub["secret"]) == 64 and sub["frequency"] == "weekly"
    assert sub["url"] == "https://example.org/hook" and sub["last_activity"] is None
    got = seeded.client.get(f"/v1/subscriptions/{sub['id']}")
    assert got.status_code == 200 and "secret" not in got.json()
    assert seeded.client.delete(f"/v1/subscriptions/{sub['id']}").status_code == 204
    assert_error(seeded.client.get(f"/v1/subscriptions/{sub['id']}"), 404, "not_found")
    assert_error(seeded.client.delete(f"/v1/subscriptions/{sub['id']}"), 404, "not_found")


def test_bad_subscriptions_are_refused_with_the_field(seeded: Api) -> None:
    for body in (
        {"url": "http://example.org/hook"},  # https only, unless allowed
        {"url": "not a url"},
        {"url": None},
        {"channel": "email"},  # made with address, not over this route's webhook body
    ):
        assert_error(subscribe(seeded, **body), 422, "invalid_input")
    missing = seeded.client.post(
        "/v1/subscriptions",
        json={"need_id": "no-such-need", "channel": "webhook", "url": "https://example.org/h"},
    )
    assert_error(missing, 404, "not_found")


def test_a_subscription_made_with_a_key_is_seen_only_by_that_key_and_staff(seeded: Api) -> None:
    mine = seeded.headers("match")
    sub = subscribe(seeded, mine).json()
    path = f"/v1/subscriptions/{sub['id']}"
    assert_error(seeded.client.get(path), 404)  # without the key: as if it did not exist
    assert seeded.client.get(path, headers=mine).status_code == 200
    assert seeded.client.get(path, headers=seeded.headers("curate")).status_code == 200
    assert_error(seeded.client.get("/v1/alerts/deliveries", headers=mine), 403)
    assert seeded.client.get("/v1/alerts/deliveries", headers=seeded.headers("curate")).json() == []


def test_the_unsubscribe_link_needs_no_key_and_a_get_changes_nothing(make_api: ApiFactory) -> None:
    api = make_api(api={"require_key_for_match": True})
    api.seed()
    sub = subscribe(api, api.headers("match")).json()
    link = sub["unsubscribe_url"].removeprefix("http://127.0.0.1:8000")
    assert link.startswith("/alerts/unsubscribe/")
    page = api.client.get(link)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert api.box.alert_store.get_subscription(sub["id"]) is not None
    done = api.client.post(link)
    assert done.status_code == 200 and "Alerts stopped" in done.text
    assert api.box.alert_store.get_subscription(sub["id"]) is None
    forged = link[:-4] + ("0000" if not link.endswith("0000") else "1111")
    assert_error(api.client.post(forged), 404, "not_found")
