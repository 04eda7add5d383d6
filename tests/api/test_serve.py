"""`simatch serve` and `simatch keys` as real processes, and the settings they refuse."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from simatch.config import ApiSettings, FeedbackSettings, MatchSettings, Settings
from simatch.errors import ConfigError
from tests.api.conftest import free_port


def simatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simatch.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
    return clean | {
        "SIMATCH_DATA_DIR": str(tmp_path / "data"),
        "SIMATCH_EMBEDDING_BACKEND": "fake",
        "SIMATCH_LOG_JSON": "true",
    }


@pytest.mark.slow
def test_serve_loads_the_demo_and_keys_work_across_processes(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "simatch.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, Path(log.name).read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.2)
        matched = httpx.post(f"{base}/v1/match", json={"text": "nuorten yksinäisyys"}).json()
        assert matched["solutions"] and matched["match_id"]

        created = simatch("keys", "create", "--scope", "curate", "--name", "ci", env=env)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        assert token.startswith("smk_")
        key_id = created.stdout.split()[2]
        headers = {"Authorization": f"Bearer {token}"}
        record = {"kind": "need", "id": "n-ci", "title": "Tarve", "description": "Kuvaus."}
        put = httpx.put(f"{base}/v1/records/need/n-ci", json=record, headers=headers)
        assert put.status_code == 201, put.text
        listed = simatch("keys", "list", "--json", env=env)
        assert key_id in listed.stdout and token not in listed.stdout
        assert simatch("keys", "revoke", key_id, env=env).returncode == 0
        assert httpx.delete(f"{base}/v1/records/need/n-ci", headers=headers).status_code == 401
    finally:
        server.terminate()
        server.wait(20)
    output = Path(log.name).read_text()
    assert '"request_id"' in output and "nuorten yksinäisyys" not in output
    assert token not in output


def test_keys_create_refuses_unknown_scopes(env: dict[str, str]) -> None:
    result = simatch("keys", "create", "--scope", "root", "--name", "x", env=env)
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
