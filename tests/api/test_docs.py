"""/docs without internet: Swagger UI from the package (vendored by scripts/vendor-swagger-ui),
checked as files and rendered by a real browser that may not leave loopback."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from simatch.api.docs import SWAGGER_UI
from tests.api.conftest import Api
from tests.browser import LoopbackPage
from tests.serving import serving

REPO = Path(__file__).resolve().parents[2]


def test_the_docs_page_loads_only_its_own_files(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for name, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        served = api.client.get(f"/docs/static/{name}")
        assert served.status_code == 200 and kind in served.headers["content-type"]
        assert served.content == (SWAGGER_UI / name).read_bytes()
    assert api.client.get("/redoc").status_code == 404
    assert "/docs" not in api.client.get("/openapi.json").json()["paths"]


def test_the_vendored_files_are_the_ones_the_script_copied() -> None:
    sums = (SWAGGER_UI / "SHA256SUMS").read_text().split("\n")
    listed = [line.split() for line in sums if line.strip()]
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"} <= {name for _, name in listed}
    for digest, name in listed:
        assert hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest() == digest, name
    script = (REPO / "scripts" / "vendor-swagger-ui").read_text()
    version = re.search(r"^VERSION=(\S+)$", script, re.M)
    assert version and f"swagger-ui-dist@{version[1]}" in (SWAGGER_UI / "README.md").read_text()


@pytest.mark.slow
def test_the_docs_render_every_operation_in_a_browser_offline(
    tmp_path: Path, loopback_page: LoopbackPage
) -> None:
    page = loopback_page.page
    with serving(tmp_path) as served:
        schema = httpx.get(f"{served.url}/openapi.json").json()
        operations = [op for methods in schema["paths"].values() for op in methods.values()]
        page.goto(f"{served.url}/docs")
        page.wait_for_selector(".opblock-summary", timeout=20_000)
        blocks = page.locator(".opblock")
        assert blocks.count() == len(operations)
        shown = page.locator(".opblock-summary-operation-id").all_inner_texts()
        assert sorted(shown) == sorted(op["operationId"] for op in operations)
        assert page.get_by_text(schema["paths"]["/v1/match"]["post"]["summary"]).is_visible()
        # Open one operation: its parameters and responses render from the schema.
        page.locator("#operations-records-get_record .opblock-summary").click()
        page.wait_for_selector("#operations-records-get_record .parameters")
        assert page.locator("#operations-records-get_record .response").count() >= 5
    assert any(url.endswith("/openapi.json") for url in loopback_page.requests)
    assert any(url.endswith("/swagger-ui-bundle.js") for url in loopback_page.requests)
    assert loopback_page.console_errors == []
