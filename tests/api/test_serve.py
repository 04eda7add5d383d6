"""`simatch serve` and `simatch keys` as real processes, and the settings they refuse."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from simatch.config import ApiSettings, FeedbackSettings, MatchSettings, Settings
from simatch.errors import ConfigError
from tests.serving import run_simatch, serving, simatch_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return simatch_env(tmp_path / "data")


@pytest.mark.slow
def test_serve_loads_the_demo_and_keys_work_across_processes(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        base = served.url
        matched = httpx.post(f"{base}/v1/match", json={"text": "nuorten yksinäisyys"}).json()
        assert matched["solutions"] and matched["match_id"]

        created = served.simatch("keys", "create", "--scope", "curate", "--name", "ci")
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("smk_")
        key_id = created.stdout.split()[2]
        headers = {"Authorization": f"Bearer {token}"}
        record = {"kind": "need", "id": "n-ci", "title": "Tarve", "description": "Kuvaus."}
        put = httpx.put(f"{base}/v1/records/need/n-ci", json=record, headers=headers)
        assert put.status_code == 201, put.text
        listed = served.simatch("keys", "list", "--json")
        assert key_id in listed.stdout and token not in listed.stdout
        assert served.simatch("keys", "revoke", key_id).returncode == 0
        assert httpx.delete(f"{base}/v1/records/need/n-ci", headers=headers).status_code == 401
    output = served.output()
    assert '"request_id"' in output and "nuorten yksinäisyys" not in output
    assert token not in output


def test_keys_create_refuses_unknown_scopes(env: dict[str, str]) -> None:
    result = run_simatch("keys", "create", "--scope", "root", "--name", "x", env=env)
    assert result.returncode == 2 and "scopes must be" in result.stderr


def test_bad_setting_combinations_are_refused_with_clear_messages() -> None:
    with pytest.raises(ValueError, match="SIMATCH_MAX_BODY_BYTES is larger than"):
        ApiSettings(max_body_bytes=10_000, max_upload_bytes=5_000)
    with pytest.raises(ValueError, match="SIMATCH_CORS_ORIGINS"):
        ApiSettings(cors_origins="*,https://a.example")
    assert ApiSettings(cors_origins="https://a.example, https://b.example").cors_origins == [
        "https://a.example",
        "https://b.example",
    ]
    with pytest.raises(ValueError, match="SIMATCH_FEEDBACK_STEP is larger"):
        FeedbackSettings(feedback_step=0.5, feedback_max_boost=0.2)
    with pytest.raises(ConfigError, match="SIMATCH_MAX_BODY_BYTES=30000 cannot carry"):
        Settings(api=ApiSettings(max_body_bytes=30_000), match=MatchSettings(max_text_chars=10_000))


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMATCH_REQUIRE_KEY_FOR_MATCH", "true")
    monkeypatch.setenv("SIMATCH_RATE_LIMIT_PER_CLIENT", "0")
    monkeypatch.setenv("SIMATCH_API_PORT", "9000")
    settings = ApiSettings()
    assert (settings.require_key_for_match, settings.rate_limit_per_client) == (True, 0)
    assert settings.api_port == 9000
