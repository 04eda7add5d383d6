"""The API's routes, one module per resource; each takes the narrow service it needs from
``simatch.api.deps`` and only translates HTTP to a service call and back."""

from simatch.api.routes import (
    alerts,
    audit,
    feedback,
    gaps,
    health,
    import_jobs,
    imports,
    index_builds,
    keys,
    match,
    records,
    sources,
)

ROUTERS = (match.router, records.router, imports.router, import_jobs.router, feedback.router,
           gaps.router, sources.router, keys.router, audit.router, alerts.router, alerts.links,
           index_builds.router, health.router)  # fmt: skip
