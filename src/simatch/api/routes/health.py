"""Probes and metrics: /healthz (process alive), /readyz (index open, model loaded), /metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from simatch.api.deps import IndexInfoServiceDep, MetricsDep
from simatch.api.errors import NotReady, error_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    responses=error_responses({503: "Not ready: `details.checks` names what is missing."}),
    summary="The index is open and the model loaded",
)
def readyz(service: IndexInfoServiceDep) -> Ready:
    checks = service.readiness()
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
async def metrics(metrics: MetricsDep) -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
