"""docker-compose.yml is the documented scale-out shape: its simatch settings must exist, and
replicas must keep nothing of their own (no volume; state in PostgreSQL, vectors in Qdrant)."""

from __future__ import annotations

from pathlib import Path

import yaml

from simatch.settings_doc import env_names, settings_classes

REPO = Path(__file__).resolve().parents[1]


def test_compose_runs_replicas_on_qdrant_and_postgresql() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"qdrant", "postgres", "simatch"} <= set(services)
    simatch = services["simatch"]
    env = simatch["environment"]
    known = {name for cls in settings_classes() for name, _, _ in env_names(cls)}
    assert {k for k in env if k.startswith("SIMATCH_")} <= known
    assert env["SIMATCH_QDRANT_URL"].startswith("http://qdrant:")
    assert env["SIMATCH_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["SIMATCH_DATABASE_URL"]
    assert "volumes" not in simatch  # a replica holds nothing
    assert simatch["depends_on"]["postgres"]["condition"] == "service_healthy"
