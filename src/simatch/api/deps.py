"""FastAPI dependencies: one per service, so a route takes the narrow thing it needs (and a
test swaps it with ``app.dependency_overrides[get_match_service] = ...``), plus the app's own
settings, metrics and limiters.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread
pool, a hop per dependency per request. Building a service may open the index or load a
model, so that happens once in a worker thread; afterwards the service is handed out on the
event loop. A service that failed to build (the index backend is down) is tried again on the
next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar, cast

import anyio.to_thread
from fastapi import Depends, Request

from simatch.api.metrics import Metrics
from simatch.api.rate_limit import RateLimiter
from simatch.config import ApiSettings
from simatch.errors import Conflict
from simatch.services import (
    AlertService,
    AuditService,
    BackgroundReindex,
    DashboardService,
    FeedbackService,
    GapService,
    ImportJobService,
    ImportService,
    IndexInfoService,
    KeyService,
    MatchService,
    RecordSearch,
    RecordService,
    ReviewService,
    SessionService,
    SyncScheduler,
    SyncService,
)
from simatch.wiring import Container

T = TypeVar("T")


@dataclass
class AppState:
    """What create_app builds once per app and routes read through ``request.app.state``."""

    container: Container
    settings: ApiSettings
    metrics: Metrics
    key_limiter: RateLimiter
    client_limiter: RateLimiter
    services: dict[Callable[[Container], object], object] = field(default_factory=dict)

    async def service(self, pick: Callable[[Container], T]) -> T:
        found = self.services.get(pick)
        if found is None:
            found = await anyio.to_thread.run_sync(pick, self.container)
            self.services[pick] = found
        return cast(T, found)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.simatch
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> ApiSettings:
    return state.settings


async def get_metrics(state: StateDep) -> Metrics:
    return state.metrics


def _service(pick: Callable[[Container], T]) -> Callable[[AppState], Awaitable[T]]:
    async def dependency(state: StateDep) -> T:
        return await state.service(pick)

    return dependency


get_match_service = _service(lambda c: c.match_service)
get_record_service = _service(lambda c: c.record_service)
get_import_service = _service(lambda c: c.import_service)
get_import_job_service = _service(lambda c: c.import_job_service)
get_feedback_service = _service(lambda c: c.feedback_service)
get_gap_service = _service(lambda c: c.gap_service)
get_key_service = _service(lambda c: c.key_service)
get_index_info_service = _service(lambda c: c.index_info_service)
get_sync_service = _service(lambda c: c.sync_service)
get_sync_scheduler = _service(lambda c: c.sync_scheduler)
get_audit_service = _service(lambda c: c.audit_service)
get_record_search = _service(lambda c: c.record_search)
get_session_service = _service(lambda c: c.session_service)
get_review_service = _service(lambda c: c.review_service)
get_dashboard_service = _service(lambda c: c.dashboard_service)
get_alert_service = _service(lambda c: c.alert_service)


def _background_reindex(container: Container) -> BackgroundReindex:
    found = container.background_reindex
    if found is None:  # an index handed to the container (tests): nothing to rebuild here
        raise Conflict("this server's index cannot be rebuilt in the server")
    return found


get_background_reindex = _service(_background_reindex)

ApiSettingsDep = Annotated[ApiSettings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
MatchServiceDep = Annotated[MatchService, Depends(get_match_service)]
RecordServiceDep = Annotated[RecordService, Depends(get_record_service)]
ImportServiceDep = Annotated[ImportService, Depends(get_import_service)]
ImportJobServiceDep = Annotated[ImportJobService, Depends(get_import_job_service)]
FeedbackServiceDep = Annotated[FeedbackService, Depends(get_feedback_service)]
GapServiceDep = Annotated[GapService, Depends(get_gap_service)]
KeyServiceDep = Annotated[KeyService, Depends(get_key_service)]
IndexInfoServiceDep = Annotated[IndexInfoService, Depends(get_index_info_service)]
SyncServiceDep = Annotated[SyncService, Depends(get_sync_service)]
SyncSchedulerDep = Annotated[SyncScheduler, Depends(get_sync_scheduler)]
AuditServiceDep = Annotated[AuditService, Depends(get_audit_service)]
RecordSearchDep = Annotated[RecordSearch, Depends(get_record_search)]
SessionServiceDep = Annotated[SessionService, Depends(get_session_service)]
ReviewServiceDep = Annotated[ReviewService, Depends(get_review_service)]
DashboardServiceDep = Annotated[DashboardService, Depends(get_dashboard_service)]
AlertServiceDep = Annotated[AlertService, Depends(get_alert_service)]
BackgroundReindexDep = Annotated[BackgroundReindex, Depends(get_background_reindex)]
