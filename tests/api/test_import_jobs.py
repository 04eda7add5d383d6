"""Background imports over HTTP: 202 with the job, progress, report, cancel and retry."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from simatch.domain.ports import SearchFilter, Vector
from simatch.embeddings.fake import FakeEmbedder
from tests.api.conftest import Api, ApiFactory, assert_error

NDJSON = {"Content-Type": "application/x-ndjson"}


def rows(n: int, start: int = 0) -> bytes:
    lines = [
        json.dumps(
            {"kind": "actor", "id": f"a{i}", "name": f"Yhdistys {i}", "description": f"Kuvaus {i}"}
        )
        for i in range(start, start + n)
    ]
    return ("\n".join(lines) + "\n").encode()


def wait_finished(api: Api, location: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = api.client.get(location, headers=api.headers("curate")).json()
        if job["state"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_background_import_answers_202_and_reports(api: Api) -> None:
    body = rows(5) + b"{broken\n"
    answer = api.client.post(
        "/v1/records/import?background=true&filename=orgs.jsonl",
        content=body,
        headers={**api.headers("curate"), **NDJSON},
    )
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["Location"] == f"/v1/imports/{job['id']}"
    assert job["state"] in ("queued", "running", "succeeded") and job["source"] == "orgs.jsonl"
    done = wait_finished(api, answer.headers["Location"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {
        "read": 6, "embedded": 5, "indexed": 5, "added": 5, "updated": 0, "unchanged": 0,
        "rejected": 1,
    }  # fmt: skip
    report = done["report"]
    assert report["ok"] is False and report["rejected"][0]["line"] == 6
    assert report["rejected"][0]["source"] == "orgs.jsonl"
    assert api.client.get("/v1/records/actor/a4").status_code == 200
    listed = api.client.get("/v1/imports", headers=api.headers("curate")).json()["items"]
    assert [j["id"] for j in listed] == [job["id"]]
    # Curate scope only, like the import itself.
    assert_error(api.client.get("/v1/imports", headers=api.headers("match")), 403)
    assert_error(api.client.get(f"/v1/imports/{'0' * 32}", headers=api.headers("curate")), 404)


def test_a_large_upload_goes_to_the_background_by_itself(make_api: ApiFactory) -> None:
    api = make_api(api={"import_background_bytes": 1024})
    big = rows(40)
    assert len(big) > 1024
    answer = api.client.post(
        "/v1/records/import", content=big, headers={**api.headers("curate"), **NDJSON}
    )
    assert answer.status_code == 202, answer.text
    assert wait_finished(api, answer.headers["Location"])["progress"]["added"] == 40
    forced = api.client.post(
        "/v1/records/import?background=false",
        content=rows(40, start=40),
        headers={**api.headers("curate"), **NDJSON},
    )
    assert forced.status_code == 200 and forced.json()["added"] == 40
    small = api.client.post(
        "/v1/records/import", content=rows(2, 80), headers={**api.headers("curate"), **NDJSON}
    )
    assert small.status_code == 200


class GatedEmbedder(FakeEmbedder):
    """The fake model, held after its first call until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.calls = 0

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        self.calls += 1
        if self.calls > 1:
            assert self.gate.wait(30)
        return super().embed_documents(texts)


def test_cancel_keeps_what_landed_and_retry_finishes(make_api: ApiFactory) -> None:
    embedder = GatedEmbedder()
    api = make_api(embedder=embedder, ingest={"ingest_batch_size": 4})
    answer = api.client.post(
        "/v1/records/import?background=true",
        content=rows(40),
        headers={**api.headers("curate"), **NDJSON},
    )
    location = answer.headers["Location"]
    deadline = time.monotonic() + 10
    while embedder.calls < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # the first batch embedded, the second held
    cancelled = api.client.post(f"{location}/cancel", headers=api.headers("curate"))
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"] is True
    embedder.gate.set()
    done = wait_finished(api, location)
    assert done["state"] == "cancelled", done
    landed = done["progress"]["added"]
    assert 4 <= landed < 40
    assert api.box.index.count(SearchFilter()) == landed  # what it says landed, landed

    again = api.client.post(f"{location}/retry", headers=api.headers("curate"))
    assert again.status_code == 202, again.text
    finished = wait_finished(api, again.headers["Location"])
    assert finished["state"] == "succeeded"
    # Nothing twice: what landed before is skipped by its content hash.
    assert (finished["progress"]["unchanged"], finished["progress"]["added"]) == (
        landed,
        40 - landed,
    )
    assert api.box.index.count(SearchFilter()) == 40
    assert_error(
        api.client.post(f"{again.headers['Location']}/retry", headers=api.headers("curate")), 409
    )
