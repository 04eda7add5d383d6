"""The install files in bots/ fit what the code serves."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

BOTS = Path(__file__).resolve().parents[2] / "bots"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_teams_manifest_and_icons() -> None:
    manifest = json.loads((BOTS / "teams" / "manifest.json").read_text())
    assert manifest["id"] == manifest["bots"][0]["botId"]
    assert set(manifest["bots"][0]["scopes"]) == {"personal", "team", "groupChat"}
    assert png_size(BOTS / "teams" / manifest["icons"]["color"]) == (192, 192)
    assert png_size(BOTS / "teams" / manifest["icons"]["outline"]) == (32, 32)
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["name"]["short"]) <= 30


def test_slack_manifest_points_everything_at_the_events_route() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((BOTS / "slack" / "manifest.yml").read_text())
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(u.endswith("/slack/events") for u in urls)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/match"]
    assert set(settings["event_subscriptions"]["bot_events"]) >= {"app_mention", "message.im"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "im:history", "chat:write", "commands"} <= scopes
