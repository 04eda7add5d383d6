"""The HTTP API (FastAPI): ``app.create_app(container)``, ``routes/`` per resource on the
narrow services of ``deps``, ``middleware/``, auth and rate limits, errors mapped to HTTP;
``params`` (shared parameter types) and ``openapi`` make the schema exact, ``docs`` serves
/docs from the package."""
