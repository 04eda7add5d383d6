"""Work on two replicas sharing PostgreSQL (issue 16): a source sync asked of both at once
runs on one (an advisory lock). Background imports: a job submitted on one is visible on
the other; one import writes at a time across both (the ``import`` advisory lock); a staff
console import staged on one is started and followed on the other; a job whose replica is
SIGKILLed in the middle is taken over by the other once the lease (3 s here) runs out, and
finished.

Each replica has its own embedded index here (a shared Qdrant server cannot run on these
machines), so "finished" means: the job is ``succeeded``, every row of the file is in the
index of the replica that finished it, once, and the import ran to its end once (one audit
entry, for the run that finished; the killed run had written none). With a shared index the
rerun skips what the killed run had committed as unchanged
(``tests/api/test_import_jobs_shared.py``).

These run after ``test_two_replicas.py`` (file order), whose scenarios expect both indexes
to hold the same records: the jobs here land on one replica's index or the other's. Job
states are read from the database while waiting: the replicas' rate limit (5 requests
per key, then 1 a minute) is for the other scenarios.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.bots.conftest import mock_platforms  # noqa: F401 - fixture of ``replicas``
from tests.replicas.conftest import Replicas
from tests.serving import Served

pytestmark = pytest.mark.model

JOB = "SELECT state, worker, attempts, progress, started_at, finished_at FROM import_jobs"


def rows(prefix: str, n: int) -> bytes:
    """``n`` organisations, each described in a sentence of its own."""
    topics = ["nuoret", "ikäihmiset", "maahanmuuttajat", "työttömät", "perheet", "opiskelijat"]
    lines = [
        json.dumps(
            {
                "kind": "actor",
                "id": f"{prefix}-{i}",
                "name": f"{prefix.title()} yhdistys {i}",
                "description": f"Yhdistys {i} tukee {topics[i % len(topics)]}a kunnassa"
                f" {i % 17}: kerhot, neuvonta ja vertaistuki, vuodesta {1950 + i % 70}.",
            },
            ensure_ascii=False,
        )
        for i in range(n)
    ]
    return ("\n".join(lines) + "\n").encode()


def submit(via: Served, token: str, body: bytes, name: str) -> str:
    answer = httpx.post(
        f"{via.url}/v1/records/import?background=true&filename={name}",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def job_row(url: str, job_id: str) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(f"{JOB} WHERE id = %s", (job_id,))
        names = [d.name for d in cur.description or ()]
        found = cur.fetchone()
    assert found is not None, job_id
    return dict(zip(names, found, strict=True))


def wait_for(
    url: str, job_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 300
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not done(job := job_row(url, job_id)):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def finished(job: dict[str, Any]) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")


def ids_on(via: Served, token: str, prefix: str) -> list[str]:
    """Every record id containing ``prefix`` in the replica's index, page by page."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"kind": "actor", "q": prefix, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(
            f"{via.url}/v1/records",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        found += [item["id"] for item in body["items"]]
        if not (cursor := body["next_cursor"]):
            return found


def audited(url: str, target: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT after FROM audit WHERE action = 'import' AND target = %s", (target,)
        ).fetchall()
    return [r[0] for r in rows]


def test_a_source_sync_asked_of_both_replicas_runs_on_one(replicas: Replicas) -> None:
    token = replicas.a.create_key("curate", "sync")
    before = len(replicas.euft.requests)

    def ask(via: Served) -> httpx.Response:
        return httpx.post(
            f"{via.url}/v1/sources/sync",
            params={"source": "eu-ft"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(ask, (replicas.a, replicas.b)))
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    deadline = time.monotonic() + 120
    while True:
        with psycopg.connect(replicas.database_url, autocommit=True) as conn:
            runs = conn.execute(
                "SELECT status FROM sync_runs WHERE source = 'eu-ft' ORDER BY id"
            ).fetchall()
        if runs and all(status != "running" for (status,) in runs):
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)
    time.sleep(1.0)  # the replica that found the lock taken has long given up
    assert runs == [("ok",)]  # one sync ran; the other replica skipped it
    pages = [int(r.params["pageNumber"]) for r in replicas.euft.requests[before:]]
    assert sorted(pages) == [1, 2, 3], pages  # each of the three pages fetched once


def test_one_import_writes_at_a_time_across_replicas(replicas: Replicas) -> None:
    """Two jobs submitted at once, one on each replica: both run, one after the other."""
    token = replicas.a.create_key("curate", "one writer")
    first = submit(replicas.a, token, rows("writer-a", 60), "writer-a.jsonl")
    second = submit(replicas.b, token, rows("writer-b", 60), "writer-b.jsonl")
    jobs = [wait_for(replicas.database_url, j, finished) for j in (first, second)]
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"], jobs
    one, other = sorted(jobs, key=lambda j: j["started_at"])
    assert one["finished_at"] <= other["started_at"], jobs  # never both writing


def test_a_console_import_staged_on_one_replica_is_started_and_followed_on_the_other(
    replicas: Replicas,
) -> None:
    """The staff console's imports are the shared jobs: a file uploaded (and previewed) on
    one replica is started from the other, and its report is read on the first."""
    token = replicas.a.create_key("curate", "Kaisa (curator)")
    finnish = {"Accept-Language": "fi"}
    with httpx.Client(timeout=60, headers=finnish) as browser:
        form = browser.get(f"{replicas.a.url}/console/sign-in")
        found = re.search(r'name="token" value="([^"]+)"', form.text)
        assert found, form.text[:1000]
        signed = browser.post(
            f"{replicas.a.url}/console/sign-in",
            data={"key": token, "token": found[1], "next": "/console/"},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[:500]

        def csrf(url: str) -> str:
            page = browser.get(url)
            assert page.status_code == 200, page.text[:500]
            match = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert match, page.text[:2000]
            return match[1]

        staged = browser.post(
            f"{replicas.a.url}/console/import",
            data={"csrf": csrf(f"{replicas.a.url}/console/import")},
            files={"file": ("konsoli.jsonl", rows("konsoli", 30), "application/octet-stream")},
            follow_redirects=False,
        )
        assert staged.status_code == 303, staged.text[:500]
        path = staged.headers["location"]
        job_id = path.rsplit("/", 1)[1]
        preview = browser.get(replicas.b.url + path)  # the other replica shows the preview
        assert preview.status_code == 200 and 'id="n-new">30<' in preview.text, preview.text
        assert job_row(replicas.database_url, job_id)["state"] == "staged"
        started = browser.post(
            f"{replicas.b.url}{path}/start",
            data={"csrf": csrf(replicas.b.url + path)},
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text[:500]
        done = wait_for(replicas.database_url, job_id, finished)
        assert done["state"] == "succeeded", done
        page = browser.get(replicas.a.url + path).text
        assert 'id="report"' in page and "Lisätty 30" in page, page[-3000:]
        assert 'value="100"' in page
        listed = browser.get(f"{replicas.b.url}/console/import").text
        assert "konsoli.jsonl" in listed and "Kaisa (curator)" in listed


def test_an_import_whose_replica_is_killed_is_finished_by_the_other(replicas: Replicas) -> None:
    """SIGKILL the replica running a background import once some rows are indexed; the other
    takes the job over after the lease and finishes it. Last in the package: it leaves one
    replica dead."""
    total = 400
    token = replicas.a.create_key("curate", "takeover")
    job_id = submit(replicas.a, token, rows("takeover", total), "takeover.jsonl")
    running = wait_for(
        replicas.database_url,
        job_id,
        lambda j: finished(j) or (j["state"] == "running" and j["progress"].get("added", 0) > 0),
    )
    assert running["state"] == "running", "the import finished before the kill: make it longer"
    dying = replicas.holding(int(str(running["worker"]).rsplit(":", 1)[1]))
    survivor = replicas.other(dying)
    # The job is visible on the replica that does not run it.
    seen = httpx.get(
        f"{survivor.url}/v1/imports/{job_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert seen.status_code == 200 and seen.json()["state"] == "running", seen.text
    assert dying.process is not None
    dying.process.send_signal(signal.SIGKILL)
    dying.process.wait(10)
    committed = job_row(replicas.database_url, job_id)["progress"].get("added", 0)
    assert 0 < committed < total

    done = wait_for(replicas.database_url, job_id, finished)
    assert done["state"] == "succeeded", done
    assert done["worker"] != running["worker"] and done["attempts"] == 2
    # The survivor's index did not have the killed run's rows: it indexed all of them.
    assert (done["progress"]["read"], done["progress"]["added"]) == (total, total)
    found = ids_on(survivor, token, "takeover-")
    assert len(found) == total and set(found) == {f"takeover-{i}" for i in range(total)}
    after = audited(replicas.database_url, "file:takeover.jsonl")
    assert [(a["read"], a["added"]) for a in after] == [(total, total)]  # one finished run
