"""Records in the console: search that understands Finnish inflection, filters, the record
page with its provenance and where it was shown, and create, edit and delete through the
same validation as an import, each refused without the session's CSRF token."""

from __future__ import annotations

import re

from tests.console.conftest import Console

EDIT = "/console/records/call/c-stea/edit"


def ids(html: str) -> list[str]:
    return re.findall(r'<small class="id">([^<]+)</small>', html)


def test_search_finds_inflected_finnish_words_not_substrings(console: Console) -> None:
    # "nuoret" (plural nominative) is in none of the titles as a string; "Nuorten" (genitive)
    # and "Nuoret" in summaries are the same lemma, nuori.
    found = ids(console.client.get("/console/records", params={"q": "nuoret"}).text)
    assert {"i-kerho", "i-olohuone", "n-yksin", "c-stea"} <= set(found)
    assert "i-ruoka" not in found
    elderly = ids(console.client.get("/console/records", params={"q": "ikäihmisille"}).text)
    assert elderly == ["i-ruoka"]
    assert ids(console.client.get("/console/records", params={"q": "a-kyla"}).text)[0] == "a-kyla"


def test_filters_and_htmx_partials(console: Console) -> None:
    get = console.client.get
    assert set(ids(get("/console/records", params={"kind": "call"}).text)) == {"c-stea"}
    assert set(ids(get("/console/records", params={"calls": "open"}).text)) == {"c-stea"}
    assert ids(get("/console/records", params={"calls": "closed"}).text) == []
    assert set(ids(get("/console/records", params={"region": "kainuu"}).text)) == {
        "i-kerho",
        "i-olohuone",
    }
    assert ids(get("/console/records", params={"language": "en"}).text) == []
    assert len(ids(get("/console/records", params={"source": "-"}).text)) == 6
    assert ids(get("/console/records", params={"source": "eu-ft"}).text) == []
    both = get("/console/records", params={"q": "nuoret", "kind": "innovation"})
    assert set(ids(both.text)) == {"i-kerho", "i-olohuone"}
    partial = get("/console/records", params={"q": "nuoret"}, headers={"HX-Target": "results"})
    assert "<html" not in partial.text and "i-kerho" in partial.text


def test_pages_follow_one_another(console: Console) -> None:
    actor = {"kind": "actor", "name": "Yhdistys", "description": "Kerho."}
    console.api.seed([{**actor, "id": f"a-{n:02}"} for n in range(40)])
    first = console.client.get("/console/records", params={"kind": "actor"}).text
    assert "41 osumaa" in first
    following = re.search(r'rel="next" href="([^"]+)"', first)
    assert following
    second = console.client.get(following[1].replace("&amp;", "&")).text
    assert len(ids(first)) == 25 and len(ids(second)) == 16
    assert not set(ids(first)) & set(ids(second))


def test_an_invalid_date_is_shown_next_to_its_field_and_changes_nothing(console: Console) -> None:
    before = console.api.box.record_service.get("call", "c-stea")
    form = {
        "csrf": console.csrf(EDIT),
        "kind": "call",
        "title": "Avustushaku nuorten hyvinvointiin",
        "description": "Rahoitusta nuorten yksinäisyyden ehkäisyyn.",
        "funder": "STEA",
        "deadline": "31.1.2099",
    }
    answer = console.client.post(EDIT, data=form)
    assert answer.status_code == 422
    error = re.search(r'<p class="error" id="f-deadline-error">([^<]+)</p>', answer.text)
    assert error and "YYYY-MM-DD" in error[1]
    assert 'id="f-deadline" name="deadline" value="31.1.2099"' in answer.text  # kept to fix
    assert console.api.box.record_service.get("call", "c-stea") == before
    assert console.api.box.audit_service.list().items == []


def test_edit_keeps_other_fields_and_is_audited(console: Console) -> None:
    record = console.api.box.record_service
    record.put("call", "c-stea", {**record.get("call", "c-stea"), "source": "stea-feed"})
    form = {
        "csrf": console.csrf(EDIT),
        "title": "Avustushaku nuorten hyvinvointiin 2099",
        "description": "Rahoitusta nuorten yksinäisyyden ehkäisyyn.",
        "funder": "STEA",
        "deadline": "2099-02-28",
        "regions": "Kainuu; Lappi",
        "continuous": "true",  # a ticked checkbox
    }
    saved = console.client.post(EDIT, data=form, follow_redirects=False)
    assert saved.status_code == 303
    after = record.get("call", "c-stea")
    assert after["deadline"] == "2099-02-28" and after["regions"] == ["Kainuu", "Lappi"]
    assert after["source"] == "stea-feed"  # a field the form does not show is kept
    assert after["continuous"] is True
    unticked = {k: v for k, v in form.items() if k != "continuous"}
    console.client.post(EDIT, data={**unticked, "csrf": console.csrf(EDIT)})
    assert record.get("call", "c-stea")["continuous"] is False
    entry = console.api.box.audit_service.list(who="Kaisa (curator)").items[1]
    assert (entry.action, entry.via, entry.target) == ("update", "console", "call:c-stea")
    assert entry.before and entry.before["deadline"] == "2099-01-31"
    assert entry.after and entry.after["deadline"] == "2099-02-28"
    page = console.client.get("/console/records/call/c-stea").text
    assert "Kaisa (curator)" in page and "stea-feed" in page


def test_create_refuses_an_existing_id_and_delete_asks_first(console: Console) -> None:
    csrf = console.csrf()
    base = {"csrf": csrf, "kind": "need", "title": "Uusi tarve", "description": "Kuvaus."}
    taken = console.client.post("/console/records/new", data={**base, "id": "n-yksin"})
    assert taken.status_code == 422 and 'id="f-id-error"' in taken.text
    assert console.api.box.record_service.get("need", "n-yksin")["title"] == "Yksinäiset nuoret"
    made = console.client.post(
        "/console/records/new", data={**base, "id": "n-uusi"}, follow_redirects=False
    )
    assert made.headers["location"] == "/console/records/need/n-uusi?saved=1"
    confirm = console.client.get("/console/records/need/n-uusi/delete")
    assert confirm.status_code == 200 and "Uusi tarve" in confirm.text
    assert console.api.box.record_service.get("need", "n-uusi")  # asking deletes nothing
    gone = console.client.post(
        "/console/records/need/n-uusi/delete", data={"csrf": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert console.client.get("/console/records/need/n-uusi").status_code == 404
    actions = [e.action for e in console.api.box.audit_service.list(target="need:n-uusi").items]
    assert actions == ["delete", "create"]


def test_a_post_without_the_csrf_token_changes_nothing(console: Console) -> None:
    before = console.api.box.record_service.get("call", "c-stea")
    forged = {"title": "Hijacked", "description": "x", "funder": "x", "deadline": "2099-01-01"}
    for token in (None, "wrong"):
        data = forged if token is None else {**forged, "csrf": token}
        assert console.client.post(EDIT, data=data).status_code == 403
    delete = "/console/records/call/c-stea/delete"
    assert console.client.post(delete, data={"csrf": "wrong"}).status_code == 403
    assert console.client.post("/console/sign-out").status_code == 403
    assert console.api.box.record_service.get("call", "c-stea") == before
    # htmx sends the token as a header instead
    answer = console.client.post(
        delete, headers={"X-CSRF-Token": console.csrf()}, follow_redirects=False
    )
    assert answer.status_code == 303


def test_the_record_page_shows_where_it_was_shown(console: Console) -> None:
    client = console.client
    match = client.post("/v1/match", json={"text": "yksinäiset nuoret kylällä", "limit": 5})
    items = [i for i in match.json()["solutions"] if i["kind"] == "innovation"]
    assert items
    first = items[0]
    client.post(
        "/v1/feedback",
        json={"match_id": match.json()["match_id"], "item_id": first["id"],
              "verdict": "not_useful", "reason": "Hanke päättyi"},
    )  # fmt: skip
    page = client.get(f"/console/records/innovation/{first['id']}").text
    section = page.split('id="h-shown"', 1)[1]
    assert "<td>fi</td>" in section and "Hanke päättyi" in section and "Ei hyödyllinen" in section


def test_a_withdrawn_record_is_marked_in_the_list(console: Console) -> None:
    records = console.api.box.record_service
    call = records.get("call", "c-stea")
    records.put("call", "c-stea", {**call, "source": "eu-ft", "withdrawn_at": "2026-11-01"})
    page = console.client.get("/console/records", params={"kind": "call"}).text
    assert "Poistunut lähteestä" in page
    assert ids(console.client.get("/console/records", params={"source": "eu-ft"}).text) == [
        "c-stea"
    ]
