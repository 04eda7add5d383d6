"""Feedback: recorded against a logged match, listed for staff, and moving similar queries."""

from __future__ import annotations

import numpy as np
import pytest

from simatch.domain.query import Query
from simatch.stores.boosts import BoostRule, VoteMatrix, compute_boosts
from simatch.stores.sqlite.feedback import SqliteFeedbackLog
from tests.api.conftest import Api, ApiFactory, assert_error

QUERY = "nuoret kokoontuvat ja yksinäisyys vähenee kylällä"
SIMILAR = "nuoret kokoontuvat ja yksinäisyys vähenee kylässä"
OTHER = "ikäihmiset syövät lounasta yhdessä"


def solutions(api: Api, text: str) -> tuple[str, list[str]]:
    body = api.client.post("/v1/match", json={"text": text, "sections": ["solutions"]}).json()
    return body["match_id"], [s["id"] for s in body["solutions"]]


def similarity(api: Api, a: str, b: str) -> float:
    vectors = api.box.embedder.embed_queries([a, b])
    return float(np.dot(vectors[0], vectors[1]))


def test_negative_feedback_lowers_an_item_for_similar_queries(make_api: ApiFactory) -> None:
    api = make_api(feedback={"feedback_min_similarity": 0.6})
    api.seed()
    assert similarity(api, QUERY, SIMILAR) > 0.8 > similarity(api, QUERY, OTHER)
    match_id, before = solutions(api, SIMILAR)
    top = before[0]
    _, before_other = solutions(api, OTHER)

    response = api.client.post(
        "/v1/feedback",
        json={"match_id": match_id, "item_id": top, "verdict": "not_useful", "reason": "vanha"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "innovation" and response.json()["source"] == "api"

    _, after = solutions(api, QUERY)  # a similar query, not the same one
    assert after[0] != top and top in after
    assert after.index(top) > before.index(top)
    assert solutions(api, OTHER)[1] == before_other  # dissimilar queries are untouched


def test_positive_feedback_raises_an_item(make_api: ApiFactory) -> None:
    api = make_api(feedback={"feedback_min_similarity": 0.6})
    api.seed()
    match_id, before = solutions(api, QUERY)
    second = before[1]
    for _ in range(2):
        api.client.post(
            "/v1/feedback", json={"match_id": match_id, "item_id": second, "verdict": "useful"}
        )
    assert solutions(api, SIMILAR)[1][0] == second


def test_boosts_are_capped_and_netted_per_match(make_api: ApiFactory) -> None:
    api = make_api(feedback={"feedback_min_similarity": 0.6, "feedback_max_boost": 0.15})
    api.seed()
    store = api.box.feedback_store
    for _ in range(3):
        match_id, ids = solutions(api, QUERY)
        for _ in range(5):  # one match counts once per item, however often it is voted on
            api.box.feedback_service.record(match_id, ids[0], "useful")
    vector = api.box.embedder.embed_queries([QUERY])[0]
    boosts = store.boosts(vector)
    assert boosts == {f"innovation:{ids[0]}": 0.15}


def test_feedback_errors(seeded: Api) -> None:
    client = seeded.client
    match_id, ids = solutions(seeded, QUERY)
    error = assert_error(
        client.post(
            "/v1/feedback", json={"match_id": "nope", "item_id": ids[0], "verdict": "useful"}
        ),
        404,
        "not_found",
    )
    assert error["details"] == {"field": "match_id"}
    error = assert_error(
        client.post(
            "/v1/feedback", json={"match_id": match_id, "item_id": "x", "verdict": "useful"}
        ),
        404,
        "not_found",
    )
    assert error["details"] == {"field": "item_id"}
    error = assert_error(
        client.post(
            "/v1/feedback",
            json={"match_id": match_id, "item_id": ids[0], "kind": "call", "verdict": "useful"},
        ),
        404,
    )
    assert error["details"] == {"field": "item_id"}
    error = assert_error(
        client.post(
            "/v1/feedback", json={"match_id": match_id, "item_id": ids[0], "verdict": "meh"}
        ),
        422,
    )
    assert error["details"][0]["field"] == "verdict"
    assert_error(
        client.post(
            "/v1/feedback",
            json={
                "match_id": match_id,
                "item_id": ids[0],
                "verdict": "useful",
                "reason": "x" * 1001,
            },
        ),
        422,
    )


def test_staff_list_feedback_newest_first_with_a_cursor(seeded: Api) -> None:
    match_id, ids = solutions(seeded, QUERY)
    service = seeded.box.feedback_service
    service.record(match_id=match_id, item_id=ids[0], verdict="useful", reason=None, source="slack")
    for item in ids[:3]:
        seeded.client.post(
            "/v1/feedback", json={"match_id": match_id, "item_id": item, "verdict": "not_useful"}
        )
    curate = seeded.headers("curate")
    first = seeded.client.get("/v1/feedback", params={"limit": 2}, headers=curate).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = seeded.client.get(
        "/v1/feedback", params={"limit": 2, "cursor": first["next_cursor"]}, headers=curate
    ).json()
    entries = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert entries[-1]["source"] == "slack" and entries[-1]["verdict"] == "useful"
    assert entries[0]["language"] == "fi"
    slack = seeded.client.get("/v1/feedback", params={"source": "slack"}, headers=curate).json()
    assert len(slack["items"]) == 1
    assert "text" not in entries[0] and QUERY not in str(entries)  # query texts are not stored


def test_match_service_is_shared_with_other_transports(seeded: Api) -> None:
    """The chat calls exactly these; its matches are logged and take feedback alike."""
    result = seeded.box.match_service.match(Query(text=QUERY, limit=3))
    assert result.match_id
    entry = seeded.box.feedback_service.record(
        match_id=result.match_id,
        item_id=result.solutions[0].id,
        verdict="useful",
        reason=None,
        source="slack",
    )
    assert entry.source == "slack" and entry.item_kind == "innovation"
    listed = seeded.client.get("/v1/feedback", headers=seeded.headers("curate")).json()
    assert listed["items"][0]["match_id"] == result.match_id


def test_boost_rule_weights_nets_and_caps() -> None:
    rule = BoostRule(min_similarity=0.8, step=0.1, max_boost=0.15)
    q = np.array([1.0, 0.0], dtype=np.float32)
    at_09 = np.array([0.9, np.sqrt(1 - 0.81)], dtype=np.float32)  # cos 0.9 -> weight 0.5
    far = np.array([0.5, np.sqrt(0.75)], dtype=np.float32)  # cos 0.5 -> ignored
    votes = VoteMatrix()
    votes.add("same", q, "innovation:a", useful=False)
    votes.add("near", at_09, "innovation:a", useful=False)
    votes.add("near", None, "innovation:b", useful=True)
    votes.add("near", None, "innovation:b", useful=False)  # netted to 0
    votes.add("near", None, "innovation:c", useful=True)
    votes.add("far", far, "innovation:c", useful=True)
    snapshot = votes.snapshot()
    assert snapshot is not None
    boosts = compute_boosts(*snapshot, q, rule)
    assert boosts == pytest.approx(
        {"innovation:a": -0.15, "innovation:c": 0.05}
    )  # -0.1-0.05 capped


def test_feedback_from_another_process_is_seen(make_api: ApiFactory) -> None:
    api = make_api(feedback={"feedback_min_similarity": 0.6})
    api.seed()
    match_id, ids = solutions(api, QUERY)
    vector = api.box.embedder.embed_queries([QUERY])[0]
    assert api.box.feedback_store.boosts(vector) == {}
    other = SqliteFeedbackLog(  # what a bot in its own process would open
        api.box.settings.index.data_dir / "feedback.sqlite",
        api.box.embedder.model_id,
    )
    other.add_feedback(match_id, ids[0], "innovation", "not_useful", None, "teams")
    other.close()
    assert api.box.feedback_store.boosts(vector)[f"innovation:{ids[0]}"] < 0
