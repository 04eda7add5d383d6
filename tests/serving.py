"""`simatch serve` as a real process on a free loopback port, for tests that need the whole
service as an integrator, a browser or a fuzzer meets it (``serving``), and the `simatch`
CLI run against the same data dir (``Served.simatch``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.api.conftest import free_port


def simatch_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment without the developer's SIMATCH_* settings; fake embedder unless
    ``SIMATCH_EMBEDDING_BACKEND`` is given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIMATCH_")}
    return clean | {
        "SIMATCH_DATA_DIR": str(data_dir),
        "SIMATCH_EMBEDDING_BACKEND": "fake",
        "SIMATCH_LOG_JSON": "true",
        # Sources stay on loopback (a port nothing listens on) unless a test gives a mock.
        "SIMATCH_EUFT_URL": "http://127.0.0.1:9/search-api/prod/rest/search",
        "SIMATCH_HAEAVUSTUKSIA_URL": "http://127.0.0.1:9/api/haku/list-items",
        "SIMATCH_SOURCE_RETRIES": "0",
        **settings,
    }


def run_simatch(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simatch.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Served:
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def simatch(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_simatch(*args, env=self.env)

    def create_key(self, scope: str, name: str = "test") -> str:
        """A new key's token (the CLI writes to the same keys store the server reads)."""
        created = self.simatch("keys", "create", "--scope", scope, "--name", name)
        assert created.returncode == 0, created.stderr
        return created.stdout.strip().splitlines()[-1]

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serving(workdir: Path, *, timeout: float = 120, **settings: str) -> Iterator[Served]:
    """`simatch serve` (demo data loaded into an empty index) until /readyz says ready."""
    env = simatch_env(workdir / "data", **settings)
    port = free_port()
    log = workdir / "serve.log"
    with log.open("a") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "simatch.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    served = Served(f"http://127.0.0.1:{port}", env, log, server)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert server.poll() is None, served.output()
            try:
                if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, served.output()
            time.sleep(0.2)
        yield served
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully), SIGKILL if that hangs."""
    server.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(20)
    if server.poll() is None:
        server.kill()
        server.wait(5)
