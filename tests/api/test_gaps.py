"""Staff see the questions nothing good was found for (GET /v1/gaps, curate scope)."""

from __future__ import annotations

from simatch.domain.confidence import Calibration
from simatch.embeddings.fake import FakeEmbedder
from tests.api.conftest import ApiFactory, assert_error

# A calibration no similarity reaches: every answer is weak, so nothing is a good match.
UNREACHABLE = Calibration(model_id=FakeEmbedder().model_id, strong=2.0, possible=1.5)


def test_a_question_without_a_good_match_becomes_a_gap(make_api: ApiFactory) -> None:
    api = make_api(calibration=UNREACHABLE)
    api.seed()
    answer = api.client.post("/v1/match", json={"text": "Tienpidon talvikunnossapito"}).json()
    assert answer["no_good_match"] is True

    assert_error(api.client.get("/v1/gaps"), 401)
    assert_error(api.client.get("/v1/gaps", headers=api.headers("match")), 403)
    listed = api.client.get("/v1/gaps", headers=api.headers("curate"))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1
    gap = body["items"][0]
    assert gap["text"] == "Tienpidon talvikunnossapito"
    assert gap["source"] == "api"
    assert gap["match_id"] == answer["match_id"]


def test_show_more_pages_are_not_gaps(make_api: ApiFactory) -> None:
    api = make_api(calibration=UNREACHABLE)
    api.seed()
    api.client.post("/v1/match", json={"text": "Tienpito", "offset": 3})
    listed = api.client.get("/v1/gaps", headers=api.headers("curate")).json()
    assert listed["total"] == 0
