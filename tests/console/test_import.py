"""Importing a file in the console: a preview that writes nothing, then the import in the
background with its progress and its report; bad rows named by line, field and reason."""

from __future__ import annotations

import json
import re
import time

import pytest

from simatch.services import import_preview
from tests.console.conftest import Console

OLOHUONE = {
    "kind": "innovation", "id": "i-olohuone", "title": "Kylän nuorten olohuone",
    "summary": "Nuoret kokoontuvat kylätalon olohuoneessa ja yksinäisyys vähenee.",
    "organisation": "Kylä ry", "regions": ["Kainuu"], "funders": ["STEA"], "language": "fi",
}  # fmt: skip


def jsonl(*rows: object) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()


FILE = jsonl(
    OLOHUONE,  # unchanged
    {**OLOHUONE, "id": "i-kerho", "title": "Nuorten iltakerho", "summary": "Uusi kuvaus."},
    {"kind": "need", "id": "n-uusi", "title": "Uusi tarve", "description": "Kuvaus."},
    '{"kind": "need", "id": "n-rikki", "title": ',  # line 4: not JSON
    {"kind": "call", "id": "c-paiva", "title": "Haku", "description": "x", "funder": "STEA",
     "deadline": "31.1.2027"},  # line 5: a bad date
    {"kind": "innovation", "id": "i-toinen", "title": "Yhteinen ruokapöytä", "summary": "Sama."},
)  # fmt: skip


def counts(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'id="n-([a-z]+)">(\d+)<', page)}


def upload(console: Console, data: bytes, name: str = "uudet.jsonl") -> str:
    answer = console.client.post(
        "/console/import",
        data={"csrf": console.csrf("/console/import")},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    return str(answer.headers["location"])


def test_preview_writes_nothing_then_the_import_runs_and_reports(console: Console) -> None:
    records = console.api.box.record_service
    before = console.api.box.index_info_service.info().counts
    page = console.client.get(upload(console, FILE)).text
    assert counts(page) == {"read": 6, "new": 2, "changed": 1, "unchanged": 1, "rejected": 2,
                            "suspects": 1}  # fmt: skip
    rejected = re.findall(
        r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>', page
    )
    assert [(line, ident, field) for line, ident, field, _ in rejected] == [
        ("4", "", ""), ("5", "c-paiva", "deadline")]  # fmt: skip
    assert "invalid JSON" in rejected[0][3] and "YYYY-MM-DD" in rejected[1][3]
    assert "Yhteinen ruokapöytä (innovation:i-toinen)" in page and "innovation:i-ruoka" in page
    assert console.api.box.index_info_service.info().counts == before  # nothing written yet
    assert records.get("innovation", "i-kerho")["summary"] != "Uusi kuvaus."

    run = re.search(r'action="(/console/import/[0-9a-f]+/start)"', page)
    assert run
    started = console.client.post(run[1], data={"csrf": console.csrf()}, follow_redirects=False)
    run_page = str(started.headers["location"])
    deadline = time.monotonic() + 30
    while 'id="report"' not in (progress := console.client.get(run_page).text):
        assert time.monotonic() < deadline, progress[-2000:]
        time.sleep(0.1)
    assert 'value="100"' in progress
    assert "Lisätty 2, päivitetty 1, ennallaan 1, hylätty 2" in progress
    assert records.get("innovation", "i-kerho")["summary"] == "Uusi kuvaus."
    assert records.get("need", "n-uusi")["title"] == "Uusi tarve"
    entry = console.api.box.audit_service.list(action="import").items[0]
    assert entry.who == "Kaisa (curator)" and entry.target == "file:uudet.jsonl"
    assert entry.after == {"read": 6, "added": 2, "updated": 1, "unchanged": 1, "rejected": 2,
                           "duplicates": 0}  # fmt: skip
    # htmx's poll gets the progress alone; the page lists the run afterwards.
    partial = console.client.get(run_page, headers={"HX-Request": "true"}).text
    assert partial.startswith('<div id="progress"') and "hx-trigger" not in partial
    assert "uudet.jsonl" in console.client.get("/console/import").text


def test_a_csv_file_and_a_discarded_preview(console: Console) -> None:
    csv_file = (
        b"kind,id,title,description,regions\n"
        b"need,n-csv,CSV-tarve,Kuvaus,Kainuu; Lappi\n"
        b"need,n-tyhja,,Kuvaus,\n"
    )
    page = console.client.get(upload(console, csv_file, "tarpeet.csv")).text
    assert counts(page)["new"] == 1 and counts(page)["rejected"] == 1
    assert '<td class="num">3</td><td>n-tyhja</td><td>title</td>' in page
    discard = re.search(r'action="(/console/import/[0-9a-f]+/discard)"', page)
    assert discard
    console.client.post(discard[1], data={"csrf": console.csrf()})
    uploads = console.api.box.settings.index.data_dir / "uploads"
    assert list(uploads.iterdir()) == []  # nothing of it is kept
    discarded = console.client.get(discard[1].rsplit("/", 1)[0])
    assert discarded.status_code == 200 and "Peruttu" in discarded.text
    assert 'action="/console/import/' not in discarded.text  # it cannot be started any more


def test_an_upload_needs_the_csrf_token_and_a_file(console: Console) -> None:
    refused = console.client.post(
        "/console/import", files={"file": ("x.jsonl", FILE, "application/octet-stream")}
    )
    assert refused.status_code == 403
    empty = console.client.post(
        "/console/import",
        data={"csrf": console.csrf()},
        files={"file": ("x.jsonl", b"", "application/octet-stream")},
    )
    assert empty.status_code == 422 and 'id="file-error"' in empty.text


def test_a_big_preview_compares_only_so_many_new_records(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_preview, "SUSPECT_CHECKS", 2)
    rows = [{"kind": "need", "id": f"n-{n}", "title": "Yksinäiset nuoret", "description": "x"}
            for n in range(5)]  # fmt: skip
    page = console.client.get(upload(console, jsonl(*rows))).text
    assert counts(page)["new"] == 5
    assert counts(page)["suspects"] == 2  # the first two: n-0 like n-yksin, n-1 like n-0
    assert "ensimmäisen uuden joukosta" in page
