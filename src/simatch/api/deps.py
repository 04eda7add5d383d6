"""FastAPI dependencies: the container and the app's own metrics and limiters.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread
pool, a hop per dependency per request; these are cheap enough for the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from simatch.api.limits import RateLimiter
from simatch.api.metrics import Metrics
from simatch.services.match import MatchService
from simatch.wiring import Container


@dataclass(frozen=True)
class AppState:
    """What create_app builds once per app and routes read through ``request.app.state``."""

    container: Container
    metrics: Metrics
    key_limiter: RateLimiter
    client_limiter: RateLimiter


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.simatch
    return state


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.simatch.container
    return container


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.simatch.metrics
    return metrics


def get_match_service(request: Request) -> MatchService:
    service: MatchService = request.app.state.simatch.container.match_service
    return service


StateDep = Annotated[AppState, Depends(get_state)]
MatchServiceDep = Annotated[MatchService, Depends(get_match_service)]
ContainerDep = Annotated[Container, Depends(get_container)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
