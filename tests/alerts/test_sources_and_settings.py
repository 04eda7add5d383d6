"""Alerts from a source sync, end to end (the mock EU Funding & Tenders portal, the real
pipeline, a webhook receiver), and the staff-set minimum confidence."""

from __future__ import annotations

import pytest

from simatch.wiring import Container
from tests.alerts.conftest import IN_60_DAYS, NEED, BoxFactory, follow, rows
from tests.alerts.receiver import Receiver
from tests.mocks.euft import PATH, EuftService
from tests.mocks.http import MockServer
from tests.sources.conftest import source_settings
from tests.sources.data import eu_topics

LONELY_CALL = "ESF-SOCPL-2027-INNOV-01"  # the mock's call on loneliness of older people
CLOSED_CALL = "ESF-SOCPL-2026-OLD-03"
OLDER_PEOPLE = {
    "title": "Lonely older people living alone",
    "description": "Many older people in our town live alone and are lonely. We want to start "
    "peer support groups and a volunteer network that visits them.",
    "organisation": "Seaside Town",
    "language": "en",
}


def test_a_source_sync_alerts_a_followed_need_through_to_the_webhook_once(
    make_box: BoxFactory, receiver: Receiver
) -> None:
    with MockServer(EuftService(eu_topics(), page_cap=3)) as server:
        box = make_box(sources=source_settings(euft_url=server.base_url + PATH))
        need = box.alert_service.create_need(dict(OLDER_PEOPLE))
        sub = box.alert_service.subscribe(need["id"], "webhook", url=receiver.url)
        receiver.secrets[sub.id] = sub.secret

        run = box.sync_service.sync("eu-ft")
        assert run.status == "ok", run.error
        assert run.counts.added == 5
        report = box.alert_service.run()
        assert report.dispatch is not None and report.dispatch.sent == 1
        assert receiver.bad_signatures == 0
        (body,) = receiver.accepted.values()
        assert body["subscription_id"] == sub.id
        items = {item["id"]: item for item in body["items"]}
        assert LONELY_CALL in items and CLOSED_CALL not in items
        lonely = items[LONELY_CALL]
        assert lonely["kind"] == "call" and lonely["section"] == "funders"
        assert lonely["funder"] == "European Commission"
        assert lonely["confidence"] in ("strong", "possible")
        # Explained at delivery, as a match for the need explains it.
        assert {"peer", "alone"} <= set(lonely["why"]["terms"])
        assert lonely["why"]["passage"]

        # The next sync finds the same calls: nothing new to tell.
        again = box.sync_service.sync("eu-ft")
        assert again.status == "ok", again.error
        box.alert_service.run()
        assert len(receiver.requests) == 1


PEER = {
    "kind": "need", "id": "n-peer", "title": "Yksinäiset nuoret pienessä kunnassa",
    "description": "Kunnassamme nuoret ovat yksinäisiä, eikä heillä ole paikkaa, jossa "
    "kokoontua iltaisin.", "organisation": "Naapurikunta", "language": "fi",
}  # fmt: skip
YOUTH_WORK_CALL = {
    "kind": "call", "id": "c-nuorisotyo", "title": "Nuorisotyön kehittämisavustus",
    "description": "Avustus kuntien nuorisotyön kehittämiseen ja nuorten "
    "harrastusmahdollisuuksiin.", "funder": "Opetushallitus", "deadline": IN_60_DAYS,
    "language": "fi",
}  # fmt: skip


def alerted(box: Container, receiver: Receiver) -> dict[str, str]:
    follow(box, receiver)
    box.ingestor.ingest(rows(PEER, YOUTH_WORK_CALL))
    box.alert_service.run()
    found = {item["id"]: item["confidence"] for item in receiver.items()}
    receiver.accepted.clear()
    return found


def test_raising_the_minimum_confidence_drops_what_a_lower_setting_sends(
    make_box: BoxFactory, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert NEED["organisation"] != PEER["organisation"]  # a peer, not the need's own
    monkeypatch.setenv("SIMATCH_ALERTS_MIN_CONFIDENCE", "possible")
    low = alerted(make_box(data="possible"), receiver)
    # The call is a possible match, the near-identical need of another town a strong one.
    assert low == {"n-peer": "strong", "c-nuorisotyo": "possible"}

    monkeypatch.setenv("SIMATCH_ALERTS_MIN_CONFIDENCE", "strong")
    box = make_box(data="strong")
    assert box.settings.alerts.alerts_min_confidence == "strong"
    assert alerted(box, receiver) == {"n-peer": "strong"}
