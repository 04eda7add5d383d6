"""The HTTP API (FastAPI): ``simatch.api.app.create_app(container)``."""
