"""POST /v1/records/import: JSONL and CSV, raw or multipart, broken rows, large streams."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from simatch.domain.ports import SearchFilter
from tests.api.conftest import Api, ApiFactory, assert_error, serve_in_thread

JSONL_ROWS = [
    json.dumps({"kind": "innovation", "id": "i1", "title": "Hyvä", "summary": "Toimii hyvin."}),
    "{not json",
    json.dumps({"kind": "innovation", "id": "i2", "summary": "Otsikko puuttuu"}),
    "",
    json.dumps({"kind": "need", "id": "n1", "title": "Tarve", "description": "Kuvaus."}),
    json.dumps({"kind": "gadget", "id": "g1"}),
]


def test_jsonl_body_reports_broken_rows_and_good_rows_land(api: Api) -> None:
    body = "\n".join(JSONL_ROWS) + "\n"
    response = api.client.post(
        "/v1/records/import?filename=batch.jsonl",
        content=body.encode(),
        headers={**api.headers("curate"), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["ok"], report["read"], report["added"], report["rejected_count"]) == (
        False,
        5,
        2,
        3,
    )
    by_line = {r["line"]: r for r in report["rejected"]}
    assert sorted(by_line) == [2, 3, 6]
    assert "invalid JSON" in by_line[2]["reason"]
    assert by_line[3]["field"] == "title" and by_line[3]["id"] == "i2"
    assert by_line[6]["field"] == "kind"
    assert {r["source"] for r in report["rejected"]} == {"batch.jsonl"}
    assert api.client.get("/v1/records/need/n1").status_code == 200

    again = api.client.post(
        "/v1/records/import",
        content=body.encode(),
        headers={**api.headers("curate"), "Content-Type": "application/x-ndjson"},
    ).json()
    assert (again["added"], again["unchanged"]) == (0, 2)  # idempotent


def test_csv_multipart_upload(api: Api) -> None:
    csv = (
        "kind,id,title,summary,regions,funders\n"
        "innovation,c1,Kylätalo,Nuoret kokoontuvat,Kainuu; Lappi,STEA\n"
        "innovation,c2,,Otsikko puuttuu,,\n"
        "innovation,c3,Kerho,Iltaisin,Uusimaa,\n"
    )
    response = api.client.post(
        "/v1/records/import",
        files={"file": ("records.csv", csv.encode(), "text/csv")},
        headers=api.headers("curate"),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["rejected_count"]) == (2, 1)
    assert report["rejected"][0] | {"reason": ""} == {
        "source": "records.csv",
        "line": 3,
        "field": "title",
        "reason": "",
        "id": "c2",
    }
    assert api.client.get("/v1/records/innovation/c1").json()["regions"] == ["Kainuu", "Lappi"]


def test_tsv_and_format_parameter(api: Api) -> None:
    tsv = "kind\tid\tname\tdescription\nactor\ta1\tKylä ry\tKyläyhdistys\n"
    response = api.client.post(
        "/v1/records/import?format=tsv",
        content=tsv.encode(),
        headers={**api.headers("curate"), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200 and response.json()["added"] == 1, response.text


def test_import_refuses_what_it_cannot_read(api: Api) -> None:
    curate = api.headers("curate")
    # Only the listed media types, also with ?format= (the schema lists them all).
    for content_type in ("image/png", "application/x-www-form-urlencoded"):
        assert_error(
            api.client.post(
                "/v1/records/import",
                params={"format": "csv"},
                content=b"x",
                headers={**curate, "Content-Type": content_type},
            ),
            415,
            "unsupported_media_type",
        )
    error = assert_error(
        api.client.post(
            "/v1/records/import", content=b"", headers={**curate, "Content-Type": "text/csv"}
        ),
        422,
    )
    assert error["message"] == "The upload is empty."
    empty_file = {"file": ("a.csv", b"", "text/csv")}
    assert_error(api.client.post("/v1/records/import", files=empty_file, headers=curate), 422)
    assert_error(
        api.client.post("/v1/records/import", files={"other": ("x", b"y")}, headers=curate), 422
    )
    latin1 = api.client.post(
        "/v1/records/import",
        content="kind,id,name,description\nactor,a1,Äijä,Ö\n".encode("latin-1"),
        headers={**curate, "Content-Type": "text/csv"},
    )
    assert latin1.status_code == 200
    assert "not UTF-8" in latin1.json()["rejected"][0]["reason"]


def test_upload_over_the_limit_is_413(make_api: ApiFactory) -> None:
    api = make_api(
        api={"max_upload_bytes": 30000, "max_body_bytes": 16384}, match={"max_text_chars": 1000}
    )
    curate = {**api.headers("curate"), "Content-Type": "application/x-ndjson"}
    line = json.dumps({"kind": "need", "id": "n{}", "title": "T", "description": "D" * 80})
    body = "".join(line.replace("n{}", f"n{i}") + "\n" for i in range(400)).encode()
    declared = api.client.post("/v1/records/import", content=body, headers=curate)
    error = assert_error(declared, 413, "too_large")
    assert error["details"] == {"max_bytes": 30000}
    assert api.box.index.count() == 0  # refused from Content-Length, before any row

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    with serve_in_thread(api.app) as url:
        streamed = httpx.post(f"{url}/v1/records/import", content=chunks(), headers=curate)
    assert_error(streamed, 413, "too_large")


@pytest.mark.slow
def test_large_upload_is_streamed_not_read_whole(make_api: ApiFactory) -> None:
    """20k rows as a chunked body over real HTTP: rows land while the upload still runs."""
    api = make_api(ingest={"ingest_batch_size": 1000})  # fewer index flushes (fsync)
    total, per_chunk = 20_000, 500
    counts_during_upload: list[int] = []

    def rows() -> Iterator[bytes]:
        for start in range(0, total, per_chunk):
            if start == total // 2:
                # Hold the second half back until rows land (socket buffers can take the
                # first half at once): a server that read the whole body first would never
                # write one, and the wait would time out.
                deadline = time.monotonic() + 60
                while api.box.index.count() == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                counts_during_upload.append(api.box.index.count())
            yield "".join(
                json.dumps(
                    {
                        "kind": "need",
                        "id": f"n{i}",
                        "title": f"Tarve {i}",
                        "description": f"Kunnan {i % 97} nuoret tarvitsevat tukea.",
                        "language": "fi",
                    }
                )
                + "\n"
                for i in range(start, min(total, start + per_chunk))
            ).encode()

    with serve_in_thread(api.app) as url:
        response = httpx.post(
            f"{url}/v1/records/import",
            content=rows(),
            headers={**api.headers("curate"), "Content-Type": "application/x-ndjson"},
            timeout=300,
        )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["read"], report["added"], report["rejected_count"]) == (total, total, 0)
    assert api.box.index.count(SearchFilter(kinds=("need",))) == total
    # With half the file still unsent, the server had written rows: it reads as it goes.
    assert counts_during_upload and 0 < counts_during_upload[0] < total
