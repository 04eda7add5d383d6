"""The review queues through the app: a decision is remembered and its item does not return;
gaps are grouped, exported and closed; 👎 feedback comes with what the log keeps of the
question; calls closing soon and closed are listed; the dashboard counts and draws them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from tests.api.conftest import ApiFactory
from tests.console.conftest import Console, sign_in

TWIN = {
    "kind": "innovation",
    "title": "Kylän nuorten olohuone",
    "summary": "Nuoret kokoontuvat kylätalon olohuoneessa ja yksinäisyys vähenee.",
    "organisation": "Kylä ry",
    "language": "fi",
}


@pytest.fixture
def reviewer(make_api: ApiFactory) -> Console:
    """Signed in, with the demo-like seed, twins flagged as duplicates and two more calls."""
    # Twins without numbers score at most 0.5 (ingest/duplicates.py): flag from 0.45.
    api = make_api(ingest={"duplicate_threshold": 0.45})
    api.seed()
    today = date.today()
    api.seed(
        [
            {**TWIN, "id": "i-olohuone-2"},
            {**TWIN, "id": "i-olohuone-3", "summary": TWIN["summary"] + " Kylä ry."},
            {"kind": "call", "id": "c-soon", "title": "Pian päättyvä haku", "funder": "STEA",
             "description": "Haku.", "deadline": (today + timedelta(5)).isoformat()},
            {"kind": "call", "id": "c-old", "title": "Päättynyt haku", "funder": "STEA",
             "description": "Haku.", "deadline": (today - timedelta(3)).isoformat()},
        ]
    )  # fmt: skip
    key, token = api.box.keys.create("Kaisa (curator)", ["curate"])
    assert sign_in(api.client, token).status_code == 303
    return Console(api, api.client, key.name)


def pairs_on_page(console: Console) -> set[frozenset[str]]:
    page = console.client.get("/console/review/duplicates").text
    found = re.findall(
        r'name="a" value="([^"]+)"><input type="hidden" name="b" value="([^"]+)"', page
    )
    return {frozenset(p) for p in found}


def test_a_duplicate_decision_is_remembered_and_the_pair_does_not_return(
    reviewer: Console,
) -> None:
    pairs = pairs_on_page(reviewer)
    keep = frozenset({"innovation:i-olohuone", "innovation:i-olohuone-2"})
    assert keep in pairs and len(pairs) == 3
    csrf = reviewer.csrf("/console/review/duplicates")
    a, b = sorted(keep)
    kept = reviewer.client.post(
        "/console/review/duplicates",
        data={"csrf": csrf, "a": a, "b": b, "decision": "keep_both"},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    assert keep not in pairs_on_page(reviewer)
    # Re-importing the records flags them again at ingest; the decision still holds.
    reviewer.api.seed([{**TWIN, "id": "i-olohuone-2", "summary": TWIN["summary"] + " Uusi."}])
    assert keep not in pairs_on_page(reviewer)

    reviewer.client.post(
        "/console/review/duplicates",
        data={"csrf": csrf, "a": "innovation:i-olohuone", "b": "innovation:i-olohuone-3",
              "decision": "translations"},
    )  # fmt: skip
    records = reviewer.api.box.record_service
    assert records.get("innovation", "i-olohuone")["translations"] == ["innovation:i-olohuone-3"]
    assert records.get("innovation", "i-olohuone-3")["translations"] == ["innovation:i-olohuone"]

    reviewer.client.post(
        "/console/review/duplicates",
        data={"csrf": csrf, "a": "innovation:i-olohuone-2", "b": "innovation:i-olohuone-3",
              "decision": "deleted", "delete": "innovation:i-olohuone-2"},
    )  # fmt: skip
    assert pairs_on_page(reviewer) == set()
    trail = reviewer.api.box.audit_service.list(action="review").items
    assert [e.after["decision"] for e in trail if e.after] == ["deleted", "translations",
                                                                "keep_both"]  # fmt: skip
    assert all(e.who == "Kaisa (curator)" for e in trail)
    deleted = reviewer.api.box.audit_service.list(action="delete").items
    assert [e.target for e in deleted] == ["innovation:i-olohuone-2"]


def test_gaps_are_grouped_exported_and_closed(reviewer: Console) -> None:
    gaps = reviewer.api.box.gaps
    for text, language in [("Miten tukea yksinhuoltajia?", "fi"), ("Robotit kotihoidossa", "fi"),
                           ("Miten tukea yksinhuoltajia?", "fi")]:  # fmt: skip
        gaps.record(text, language, "slack", ("Pirkanmaa",))
    page = reviewer.client.get("/console/review/gaps").text
    assert page.index("Miten tukea yksinhuoltajia?") < page.index("Robotit kotihoidossa")
    assert "2 kysymystä" in page and "slack" in page
    exported = reviewer.client.get("/console/review/gaps.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["group"], r["group_size"], r["question"]) for r in rows] == [
        ("1", "2", "Miten tukea yksinhuoltajia?"),
        ("1", "2", "Miten tukea yksinhuoltajia?"),
        ("2", "1", "Robotit kotihoidossa"),
    ]
    csrf = reviewer.csrf("/console/review/gaps")
    robots = rows[2]["id"]
    reviewer.client.post("/console/review/gaps/handled", data={"csrf": csrf, "gap": robots})
    assert "Robotit kotihoidossa" not in reviewer.client.get("/console/review/gaps").text

    first = rows[0]["id"]
    form = reviewer.client.get(f"/console/review/gaps/{first}/need").text
    assert 'value="Miten tukea yksinhuoltajia?"' in form and f'value="need-gap-{first}"' in form
    made = reviewer.client.post(
        f"/console/review/gaps/{first}/need",
        data={"csrf": csrf, "gap": [rows[0]["id"], rows[1]["id"]], "id": "need-yh",
              "title": "Yksinhuoltajien tuki", "description": "Miten tukea yksinhuoltajia?",
              "organisation": "Pikkukunta", "regions": "Pirkanmaa"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.headers["location"] == "/console/records/need/need-yh?saved=1"
    need = reviewer.api.box.record_service.get("need", "need-yh")
    assert need["organisation"] == "Pikkukunta" and need["regions"] == ["Pirkanmaa"]
    assert (
        "Nothing to review"
        in reviewer.client.get("/console/review/gaps", headers={"Accept-Language": "en"}).text
        or "Ei mitään tarkistettavaa" in reviewer.client.get("/console/review/gaps").text
    )


def test_a_need_form_with_errors_keeps_the_gaps_open(reviewer: Console) -> None:
    gap = reviewer.api.box.gaps.record("Kotihoidon robotit", "fi", "api")
    csrf = reviewer.csrf("/console/review/gaps")
    answer = reviewer.client.post(
        f"/console/review/gaps/{gap}/need",
        data={"csrf": csrf, "gap": str(gap), "id": "need-x", "title": "", "description": "x"},
    )
    assert answer.status_code == 422 and 'id="f-title-error"' in answer.text
    assert "Kotihoidon robotit" in reviewer.client.get("/console/review/gaps").text


def test_thumbs_down_with_its_context_until_handled(reviewer: Console) -> None:
    client = reviewer.client
    match = client.post("/v1/match", json={"text": "nuorten yksinäisyys kylällä"}).json()
    item = match["solutions"][0]
    vote = {"match_id": match["match_id"], "item_id": item["id"]}
    client.post("/v1/feedback", json={**vote, "verdict": "not_useful", "reason": "Vanha hanke"})
    client.post("/v1/feedback", json={**vote, "verdict": "useful"})
    page = client.get("/console/review/feedback").text
    assert "Vanha hanke" in page and "tulos sijalla 1/" in page and "kielellä fi" in page
    assert page.count('name="feedback"') == 1  # the 👍 is not in the queue
    entry = re.search(r'name="feedback" value="(\d+)"', page)
    assert entry
    client.post("/console/review/feedback", data={"csrf": reviewer.csrf(), "feedback": entry[1]})
    assert 'name="feedback"' not in client.get("/console/review/feedback").text


def test_calls_closing_soon_and_closed(reviewer: Console) -> None:
    page = reviewer.client.get("/console/review/calls").text
    closing, closed = page.split('id="h-closed"', 1)
    assert "Pian päättyvä haku" in closing and "c-stea" not in closing
    assert "Päättynyt haku" in closed and "Pian päättyvä haku" not in closed


def test_the_dashboard_counts_the_queues_and_draws_readable_charts(reviewer: Console) -> None:
    reviewer.api.box.gaps.record("Robotit kotihoidossa", "fi", "api")
    page = reviewer.client.get("/console/").text
    counts = dict(re.findall(r'id="count-([a-z]+)">(\d+)<', page))
    assert counts == {"duplicates": "3", "gaps": "1", "feedback": "0", "closing": "1",
                      "closed": "1"}  # fmt: skip
    assert page.count("<svg") == 6 and page.count('role="img"') == 6
    tables = re.findall(r"<details><summary>Taulukkona</summary>(.*?)</details>", page, re.S)
    assert len(tables) == 6
    kinds = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td></tr>", tables[0]))
    assert kinds == {"Innovaatio": "5", "Tarve": "1", "Rahoitushaku": "3", "Toimija": "1"}
    assert "Robotit kotihoidossa" in tables[3]
