"""/docs: Swagger UI served from the package (vendored from npm by
``scripts/vendor-swagger-ui``), so that the page works without internet access.

FastAPI's own page loads its script and styles from a CDN, and is blank offline. ReDoc is
not served: one renderer is enough, and /openapi.json is the contract either way.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
DOCS_PATH = "/docs"
STATIC_PATH = "/docs/static"


def mount_docs(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=SWAGGER_UI), name="docs-static")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_PATH}/favicon-32x32.png",
            # No badge from the public validator service: nothing leaves the page.
            swagger_ui_parameters={"validatorUrl": None, "displayOperationId": True},
        )
