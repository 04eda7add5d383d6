"""Two containers (two replicas) on one PostgreSQL database share keys, the match log and
feedback through the services; without SIMATCH_DATABASE_URL the SQLite files stay the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from simatch.config import EmbeddingSettings, IndexSettings, Settings, StateSettings, load_settings
from simatch.errors import ConfigError
from simatch.wiring import Container


def settings(data_dir: Path, url: str | None) -> Settings:
    return Settings(
        index=IndexSettings(data_dir=data_dir),
        state=StateSettings(database_url=url),
        embedding=EmbeddingSettings(embedding_backend="fake"),
    )


def test_the_default_is_sqlite_files_in_the_data_dir(tmp_path: Path) -> None:
    box = Container(settings(tmp_path, None))
    try:
        assert box.state.name == "sqlite"
        box.key_service.create("k", ["match"])
        assert (tmp_path / "keys.sqlite").exists()
    finally:
        box.close()


def test_a_url_that_is_not_postgresql_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMATCH_DATABASE_URL", "mysql://x@y/z")
    with pytest.raises(ConfigError, match="SIMATCH_DATABASE_URL"):
        load_settings()


def test_two_containers_on_one_database_share_state(fresh_pg_url: str, tmp_path: Path) -> None:
    one = Container(settings(tmp_path / "one", fresh_pg_url))
    two = Container(settings(tmp_path / "two", fresh_pg_url))
    try:
        assert one.state.name == two.state.name == "postgresql"
        key, token = one.key_service.create("shared", ["curate"])
        found = two.keys.authenticate(token)
        assert found is not None and found.id == key.id
        vector = one.embedder.embed_queries(["nuoret"])[0]
        one.feedback_store.log_match("m1", vector, "fi", [("innovation", "i1")])
        two.feedback_store.add_feedback("m1", "i1", "innovation", "useful", None, "api")
        assert [e.match_id for e in one.feedback_store.list_feedback()] == ["m1"]
        assert not any((tmp_path / "one").glob("*.sqlite"))  # nothing left on the replica
    finally:
        one.close()
        two.close()


def test_readiness_names_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"
    box = Container(
        Settings(
            index=IndexSettings(data_dir=tmp_path),
            state=StateSettings(database_url=url, database_timeout=1),
            embedding=EmbeddingSettings(embedding_backend="fake"),
        )
    )
    try:
        checks = box.index_info_service.readiness()
        assert checks == {"model": "ok", "index": "ok", "state": "not open: backend_unavailable"}
    finally:
        box.close()


def test_requests_that_need_an_unreachable_database_get_503(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from simatch.api.app import create_app

    url = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"
    box = Container(
        Settings(
            index=IndexSettings(data_dir=tmp_path),
            state=StateSettings(database_url=url, database_timeout=1),
            embedding=EmbeddingSettings(embedding_backend="fake"),
        )
    )
    try:
        with TestClient(create_app(box, warm=False)) as client:
            answer = client.post("/v1/match", json={"text": "nuorten yksinäisyys"})
            assert answer.status_code == 503
            assert answer.json()["error"]["code"] == "backend_unavailable"
            assert int(answer.headers["Retry-After"]) >= 1
            assert client.get("/healthz").status_code == 200
    finally:
        box.close()
