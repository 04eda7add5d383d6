"""Any request can land on either replica: keys, the match log and feedback, rate limits,
chat threads (Slack and Teams) and console sessions are shared through PostgreSQL (issue
16); an alert being delivered by a replica that dies is delivered by the other, once (the
last test: it kills one of the replicas, and starts it again)."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import psycopg
import pytest

from simatch.alerts.signing import DELIVERY_HEADER
from tests.alerts.conftest import MATCHING_CALL, NEED
from tests.bots import test_teams as teams
from tests.bots.conftest import MockPlatforms, mock_platforms  # noqa: F401 - fixture
from tests.bots.test_slack import (
    buttons,
    click,
    dm,
    mention,
    new_channel,
    new_ts,
    send_event,
    texts,
)
from tests.replicas.conftest import BURST, Replicas
from tests.serving import Served

pytestmark = pytest.mark.model

QUESTION = "Nuorten yksinäisyys ja syrjäytyminen pienellä paikkakunnalla"


def match(via: Served, text: str = QUESTION, **extra: object) -> dict[str, object]:
    answer = httpx.post(f"{via.url}/v1/match", json={"text": text, **extra}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_both_replicas_share_one_database_and_hold_the_demo_data(replicas: Replicas) -> None:
    for one in (replicas.a, replicas.b):
        ready = httpx.get(f"{one.url}/readyz", timeout=10).json()
        assert ready == {"status": "ready", "checks": {"model": "ok", "index": "ok", "state": "ok"}}
        assert not list((one.log.parent / "data").glob("*.sqlite"))  # no state on a replica
    a, b = match(replicas.a), match(replicas.b)
    assert [s["id"] for s in a["solutions"]] == [s["id"] for s in b["solutions"]]  # type: ignore[index]


def test_a_key_made_on_one_works_on_the_other_and_its_revocation_too(replicas: Replicas) -> None:
    key_id, token = replicas.new_key(replicas.a, scope="curate")
    seen = httpx.get(f"{replicas.b.url}/v1/gaps", headers=replicas.auth(token), timeout=10)
    assert seen.status_code == 200, seen.text
    revoked = replicas.b.simatch("keys", "revoke", key_id)  # the CLI, on the shared store
    assert revoked.returncode == 0, revoked.stderr
    refused = httpx.get(f"{replicas.a.url}/v1/gaps", headers=replicas.auth(token), timeout=10)
    assert refused.status_code == 401


def test_feedback_through_the_other_replica_moves_both(replicas: Replicas) -> None:
    first = match(replicas.a, limit=5)
    solutions = first["solutions"]
    assert isinstance(solutions, list) and len(solutions) >= 3
    last = solutions[-1]
    given = httpx.post(
        f"{replicas.b.url}/v1/feedback",
        json={"match_id": first["match_id"], "item_id": last["id"], "verdict": "useful"},
        timeout=10,
    )
    assert given.status_code in (200, 201), given.text
    assert given.json()["source"] == "api"

    def score_on(via: Served) -> float:
        found = [s for s in match(via, limit=5)["solutions"] if s["id"] == last["id"]]  # type: ignore[union-attr]
        return float(found[0]["score"]) if found else 0.0

    # The vote is the same question's, so the item gains one full step on both replicas
    # (a replica reads new votes at most once a second while it matches).
    for via in (replicas.b, replicas.a):
        deadline = time.monotonic() + 10
        while (moved := score_on(via) - float(last["score"])) < 0.05:
            assert time.monotonic() < deadline, f"feedback did not reach {via.url}"
            time.sleep(0.3)
        assert moved == pytest.approx(0.1, abs=0.05)
    listed = httpx.get(
        f"{replicas.a.url}/v1/feedback",
        headers=replicas.auth(replicas.new_key(replicas.b, "curate")[1]),
        timeout=10,
    )
    assert listed.status_code == 200
    assert first["match_id"] in [entry["match_id"] for entry in listed.json()["items"]]


def test_a_rate_limit_is_counted_once_across_replicas(replicas: Replicas) -> None:
    _, token = replicas.new_key(replicas.a)
    statuses = []
    for i in range(2 * BURST):
        via = replicas.a if i % 2 else replicas.b
        answer = httpx.get(f"{via.url}/v1/records", headers=replicas.auth(token), timeout=10)
        statuses.append(answer.status_code)
    assert statuses == [200] * BURST + [429] * BURST  # not twice the burst
    refused = httpx.get(f"{replicas.a.url}/v1/records", headers=replicas.auth(token), timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_a_chat_follow_up_is_answered_by_the_other_replica(replicas: Replicas) -> None:
    mock: MockPlatforms = replicas.mock
    on_a = SimpleNamespace(url=replicas.a.url, mock=mock)
    on_b = SimpleNamespace(url=replicas.b.url, mock=mock)
    channel, ts = new_channel(), new_ts()

    def post(number: int) -> dict[str, object]:
        mock.wait(lambda: len(mock.posts(channel=channel)) >= number, timeout=60)
        return mock.posts(channel=channel)[number - 1]

    assert send_event(on_a, mention(channel, QUESTION, ts)).status_code == 200
    answer = post(1)
    assert answer["thread_ts"] == ts and "*Ratkaisut*" in texts(answer)

    # A reply in the thread, without a mention, reaches the other replica: it knows the
    # thread and refines the question.
    follow = dm(channel, "only Uusimaa", thread_ts=ts)
    follow["channel_type"] = "channel"
    assert send_event(on_b, follow).status_code == 200
    refined = post(2)
    assert refined["thread_ts"] == ts
    assert "Only: Uusimaa" in texts(refined) and "*Solutions*" in texts(refined)

    # "Show more" under the first answer, pressed on replica A, finds its question.
    assert click(on_a, channel, answer, buttons(answer, "more")[0]).status_code == 200
    more = post(3)
    assert more["thread_ts"] == ts and "Lisää tuloksia" in str(more["text"])


def test_a_teams_follow_up_is_answered_by_the_other_replica(replicas: Replicas) -> None:
    mock: MockPlatforms = replicas.mock
    on_a = SimpleNamespace(url=replicas.a.url, mock=mock)
    on_b = SimpleNamespace(url=replicas.b.url, mock=mock)
    conversation = f"19:chan-{uuid.uuid4().hex[:6]}@thread.tacv2;messageid=1700000000002"
    asked = teams.activity(mock, conversation, QUESTION, conversation_type="channel",
                           mention=True)  # fmt: skip
    assert teams.post(on_a, asked).status_code == 202
    (answer,) = teams.replies(on_a, conversation)
    assert "**Ratkaisut**" in teams.card_text(teams.card_of(answer))
    follow = teams.activity(mock, conversation, "vain Uusimaa", conversation_type="channel",
                            mention=True)  # fmt: skip
    assert teams.post(on_b, follow).status_code == 202
    second = teams.replies(on_b, conversation, 2)[1]
    refined = teams.card_text(teams.card_of(second))
    assert "Vain: Uusimaa" in refined and "**Ratkaisut**" in refined


def test_a_console_session_is_valid_on_both_until_signed_out(replicas: Replicas) -> None:
    _, token = replicas.new_key(replicas.b, scope="curate")
    # One browser, two replicas behind one address: cookies do not tell ports apart.
    with httpx.Client(base_url=replicas.a.url, timeout=30) as browser:
        form = browser.get("/console/sign-in")
        found = re.search(r'name="token" value="([^"]+)"', form.text)
        assert found, form.text[:1000]
        signed = browser.post(
            "/console/sign-in",
            data={"key": token, "token": found[1], "next": "/console/"},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[:500]
        on_b = browser.get(f"{replicas.b.url}/console/", follow_redirects=False)
        assert on_b.status_code == 200, on_b.headers.get("location")
        csrf = re.search(r'name="csrf" value="([^"]+)"', on_b.text)
        assert csrf, on_b.text[:2000]
        session = {"Cookie": f"simatch_console={signed.cookies['simatch_console']}"}
        assert httpx.get(f"{replicas.a.url}/console/", headers=session).status_code == 200
        out = browser.post(
            f"{replicas.b.url}/console/sign-out", data={"csrf": csrf[1]}, follow_redirects=False
        )
        assert out.status_code == 303
    # The same cookie, replayed on the other replica: the session is over everywhere.
    again = httpx.get(f"{replicas.a.url}/console/", headers=session, follow_redirects=False)
    assert again.status_code in (302, 303) and "sign-in" in again.headers["location"]


def test_a_replica_killed_while_delivering_an_alert_leaves_it_to_the_other(
    replicas: Replicas,
) -> None:
    """Last in this module: it kills one of the replicas (started again at the end). The
    first delivery attempt hangs at the receiver; the replica sending it is SIGKILLed; after
    the lease the other replica sends it again, with the same delivery id, and the receiver
    keeps it once."""
    hold = threading.Event()
    seen: list[tuple[str | None, dict[str, object]]] = []
    kept: dict[str, dict[str, object]] = {}
    first_arrived = threading.Event()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            delivery = self.headers.get(DELIVERY_HEADER)
            seen.append((delivery, json.loads(raw)))
            if len(seen) == 1:
                first_arrived.set()
                hold.wait(60)  # the sender is killed meanwhile
                return
            kept.setdefault(str(delivery), json.loads(raw))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        a, b = replicas.a, replicas.b
        need = httpx.post(f"{a.url}/v1/needs", json=NEED, timeout=60)
        assert need.status_code in (200, 201), need.text
        sub = httpx.post(
            f"{a.url}/v1/subscriptions",
            json={"need_id": need.json()["id"], "channel": "webhook",
                  "url": f"http://127.0.0.1:{hook.server_address[1]}/hook"},
            timeout=30,
        )  # fmt: skip
        assert sub.status_code in (200, 201), sub.text
        _, curate = replicas.new_key(b, scope="curate")
        put = httpx.put(
            f"{a.url}/v1/records/call/{MATCHING_CALL['id']}",
            json=MATCHING_CALL, headers=replicas.auth(curate), timeout=60,
        )  # fmt: skip
        assert put.status_code in (200, 201), put.text
        assert first_arrived.wait(60), "no replica sent the alert"
        with psycopg.connect(replicas.database_url, autocommit=True) as conn:
            (holder,) = conn.execute(
                "SELECT claimed_by FROM alert_outbox WHERE claimed_by IS NOT NULL"
            ).fetchone()
        pid = int(str(holder).split(":")[1])
        dying = next(r for r in (a, b) if r.process is not None and r.process.pid == pid)
        survivor = b if dying is a else a
        assert dying.process is not None
        dying.process.send_signal(signal.SIGKILL)
        dying.process.wait(10)
        hold.set()
        deadline = time.monotonic() + 60
        while not kept:
            assert time.monotonic() < deadline, survivor.output()[-3000:]
            time.sleep(0.2)
        time.sleep(1.0)  # more ticks: nothing is sent again
        (delivery, body) = next(iter(kept.items()))
        assert [d for d, _ in seen] == [delivery, delivery]  # tried twice, one delivery id
        assert [i["id"] for i in body["items"]] == [MATCHING_CALL["id"]]  # type: ignore[index]
        with psycopg.connect(replicas.database_url, autocommit=True) as conn:
            rows = conn.execute("SELECT state, attempts FROM alert_outbox").fetchall()
        assert rows == [("sent", 2)]
        replicas.restart(dying)  # for the import scenarios (test_two_replicas_work.py)
    finally:
        hold.set()
        hook.shutdown()
        hook.server_close()
