"""Probes and metrics: /healthz (process alive), /readyz (index open, model loaded), /metrics."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from simatch.api.deps import StateDep
from simatch.api.errors import ErrorResponse, NotReady
from simatch.errors import SimatchError
from simatch.wiring import Container

log = logging.getLogger("simatch.api.health")
router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


def readiness(container: Container) -> dict[str, str]:
    """'ok' or a reason per check; opens the index and loads the model when they are not."""
    checks: dict[str, str] = {}
    try:
        container.embedder.load()
        checks["model"] = "ok"
    except Exception as exc:  # a probe reports, it does not fail
        checks["model"] = f"not loaded: {type(exc).__name__}"
    try:
        checks["index"] = "ok" if container.index.ping() else "backend does not answer"
    except SimatchError as exc:
        checks["index"] = f"not open: {exc.code}"
    except Exception as exc:
        log.warning("readiness: index: %s", exc)
        checks["index"] = f"not open: {type(exc).__name__}"
    return checks


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": ErrorResponse, "description": "Not ready (with Retry-After)."}},
    summary="The index is open and the model loaded",
)
def readyz(state: StateDep) -> Ready:
    checks = readiness(state.container)
    if any(v != "ok" for v in checks.values()):
        raise _not_ready(checks)
    return Ready(checks=checks)


def _not_ready(checks: dict[str, str]) -> NotReady:
    error = NotReady("Not ready: " + "; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"))
    error.details = {"checks": checks, "retry_after": error.retry_after}
    return error


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    summary="Prometheus metrics",
)
async def metrics(state: StateDep) -> Response:
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)
