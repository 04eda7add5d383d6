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


def test_replicas_link_alerts_to_one_public_address_and_serve_every_transport() -> None:
    """Unsubscribe links in alerts must point at the load balancer, not at whichever replica
    sent them (a replica's own address defaults to 127.0.0.1); and the image the replicas run
    installs the extras of every documented transport (Teams) and of Finnish analysis."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    env = compose["services"]["simatch"]["environment"]
    assert env["SIMATCH_ALERTS_PUBLIC_URL"].startswith("${SIMATCH_ALERTS_PUBLIC_URL:-http")
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    install = next(line for line in dockerfile.splitlines() if "pip install" in line)
    extras = install.split('".[', 1)[1].split(']"', 1)[0].split(",")
    assert {"voikko", "teams"} <= set(extras)
