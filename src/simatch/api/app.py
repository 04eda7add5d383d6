"""The FastAPI app: ``create_app(container)``. Nothing is built at import time.

Layers, outermost first: CORS (when configured; it answers preflights), ObserveMiddleware
(request id, metrics, access log, last-resort 500), BodyLimitMiddleware (413),
MethodsMiddleware (OPTIONS), then the routes (``routes/``, each on the narrow services of
``deps.py``), whose errors are rendered by ``errors.py``. The Slack and Teams apps are
mounted beside them when configured (``simatch.bots``). ``openapi.py`` makes the schema
exact for the settings in force; ``docs.py`` serves /docs without internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from simatch.api.deps import AppState
from simatch.api.docs import mount_docs
from simatch.api.errors import install_error_handlers
from simatch.api.metrics import Metrics
from simatch.api.middleware.body_limit import BodyLimitMiddleware
from simatch.api.middleware.methods import MethodsMiddleware
from simatch.api.middleware.observe import ObserveMiddleware
from simatch.api.openapi import install_contract
from simatch.api.rate_limit import RateLimiter
from simatch.api.routes import ROUTERS
from simatch.bots import mount_bots
from simatch.console.app import mount_console
from simatch.wiring import Container

log = logging.getLogger("simatch.api")

DESCRIPTION = """Matchmaking for social innovation: solutions, peers and funders for a
described problem, in Finnish or English.

Errors always have the body `{"error": {"code", "message", "details"?}}`; every answer
carries `X-Request-ID`. Keys are sent as `Authorization: Bearer KEY` (create one with
`simatch keys create`); each operation says whether it needs one, and with which scope.
Rate limits answer 429 with `Retry-After` (seconds)."""


def warm_up(container: Container) -> None:
    """Load the model, open the index and run one query, so the first request is fast.

    Failures are logged, not raised: the server starts and /readyz says what is missing;
    every request tries again, so it recovers by itself when the backend comes back.
    """
    try:
        container.match_service.warm_up()
    except Exception as exc:
        log.warning("warm-up incomplete (%s: %s); /readyz reports it", type(exc).__name__, exc)


def run_alerts(container: Container) -> None:
    """One alerts tick: check journalled records, deliver what is due. Logged, not raised."""
    try:
        report = container.alert_service.run()
    except Exception as exc:
        log.warning("alerts tick failed (%s: %s); tried again next tick", type(exc).__name__, exc)
        return
    if report.caught_up or (report.dispatch and (report.dispatch.sent or report.dispatch.failed)):
        log.info("alerts: %d caught up; %s", report.caught_up, report.dispatch)


async def alerts_loop(container: Container, interval: float) -> None:
    """`simatch serve` delivers alerts in the background (SIMATCH_ALERTS_INTERVAL); the first
    tick right after start, so that what a stopped server left in the outbox goes out."""
    while True:
        await anyio.to_thread.run_sync(run_alerts, container)
        await asyncio.sleep(interval)


def start_import_jobs(container: Container) -> None:
    """Mark imports a dead server left unfinished as failed, and run queued ones from now."""
    try:
        for job in container.import_job_service.start():
            log.warning("import %s was interrupted: %s", job.id, job.error)
    except Exception as exc:  # the API serves; a job submitted later starts the worker
        log.warning("background imports not started (%s: %s)", type(exc).__name__, exc)


def stop_import_jobs(container: Container) -> None:
    """A running job stops after its batches in flight; it is marked interrupted."""
    try:
        container.import_job_service.stop()
    except Exception as exc:  # never built (the backend was down): nothing runs
        log.warning("background imports not stopped (%s: %s)", type(exc).__name__, exc)


def build_translation_tables(container: Container) -> None:
    """Build missing translation tables in a child process at the lowest priority (an
    install that did not run scripts/setup): later imports then compute less."""
    try:
        build = container.translation_table_build
        if build is not None:
            build.start()
    except Exception as exc:  # no dictionaries, no tables: translations computed on use
        log.warning("translation tables not checked (%s: %s)", type(exc).__name__, exc)


def follow_index_builds(container: Container) -> None:
    """Serve the build `simatch reindex` switches to, without a restart (its thread stops
    when the container closes)."""
    try:
        switch = container.build_switch
    except Exception as exc:  # the backend is down: requests say so; no rebuild to follow
        log.warning("index builds not followed (%s: %s)", type(exc).__name__, exc)
        return
    if switch is not None:
        switch.start()


def create_app(container: Container, warm: bool = True, build_tables: bool = False) -> FastAPI:
    """The API on ``container``. ``warm``: load the model before serving; ``build_tables``:
    once serving, build the translation tables that are missing (``simatch serve``)."""
    settings = container.settings.api
    state = AppState(
        container=container,
        settings=settings,
        metrics=Metrics(),
        key_limiter=RateLimiter(
            settings.rate_limit_per_key, settings.rate_limit_burst, lambda: container.rate_buckets
        ),
        client_limiter=RateLimiter(
            settings.rate_limit_per_client,
            settings.rate_limit_burst,
            lambda: container.rate_buckets,
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            await anyio.to_thread.run_sync(warm_up, container)
        if container.settings.sources.sync_interval > 0:
            # Background syncs on a schedule (one at a time, off the event loop).
            scheduler = await anyio.to_thread.run_sync(lambda: container.sync_scheduler)
            scheduler.start()
        alerts = container.settings.alerts
        task = None
        if alerts.alerts_enabled and alerts.alerts_interval > 0:
            task = asyncio.create_task(alerts_loop(container, alerts.alerts_interval))
        await anyio.to_thread.run_sync(start_import_jobs, container)
        await anyio.to_thread.run_sync(follow_index_builds, container)
        if build_tables:
            await anyio.to_thread.run_sync(build_translation_tables, container)
        yield
        await anyio.to_thread.run_sync(stop_import_jobs, container)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="simatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # mount_docs serves /docs from the package; no ReDoc
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,  # stable operationIds
    )
    app.state.simatch = state
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    mount_docs(app)
    mount_console(app)  # the staff console at /console, outside the OpenAPI contract
    mount_bots(app, container.settings, lambda: container.chat_engine)  # only when configured
    install_contract(app, container.settings)
    app.add_middleware(MethodsMiddleware, routes=app.router.routes)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        upload_paths={"/v1/records/import", "/console/import"},
    )
    app.add_middleware(ObserveMiddleware, metrics=state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    return app
