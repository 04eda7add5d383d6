"""The OpenAPI contract as an integrator checks it: Schemathesis' own CLI with all its checks
(no 5xx, documented statuses, headers and bodies, schema-valid requests accepted and invalid
ones refused, security as declared, Allow on 405 and OPTIONS, resources usable after
creation, stateful sequences along the schema's links) against `simatch serve` on loopback,
with the demo data, once with an admin key and once without any.

It reads the whole schema, so endpoints added later are fuzzed with no change here.

The server runs the fake embedder: the contract is about HTTP shapes (statuses, headers,
bodies, validation), which the embedding model does not touch (it changes which records
come back and their scores, not their shape), and the real model would add a minute of
embedding the demo data. The same command with the real model is `scripts/contract`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serving import Served, serving

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = str(Path(__file__).with_name("schemathesis.toml"))  # which links it follows, and why
KEYED_EXAMPLES = "25"  # per operation and phase; bounded also by the timeout below
# Without a key the open operations behave as with one (covered above); what is new is how
# every operation treats a missing key, which a few cases per operation show.
ANONYMOUS_EXAMPLES = "10"
SEED = "20261130"  # reproducible in CI; scripts/contract runs with fresh seeds


def fuzz(
    served: Served, workdir: Path, examples: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            CONFIG,
            "run",
            f"{served.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            examples,
            "--seed",
            SEED,
            "--generation-database",
            "none",
            "--no-color",
            *args,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def refused_operations(stdout: str) -> set[str]:
    """The operations Schemathesis warns answered only 401/403 ("Authentication failed")."""
    if "Authentication failed" not in stdout:
        return set()
    block = stdout.split("Authentication failed", 1)[1].split("💡", 1)[0]
    return {line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")}


@pytest.mark.slow
def test_schemathesis_finds_nothing_with_a_key_and_without(tmp_path: Path) -> None:
    # The server's rate limits are off: 429s are tested in test_auth; here they would only
    # slow the fuzzer down.
    with serving(
        tmp_path, SIMATCH_RATE_LIMIT_PER_KEY="0", SIMATCH_RATE_LIMIT_PER_CLIENT="0"
    ) as served:
        paths = httpx.get(f"{served.url}/openapi.json").json()["paths"]
        operations = {f"{m.upper()} {p}": op for p, ops in paths.items() for m, op in ops.items()}
        keyed_only = {
            label for label, op in operations.items() if {} not in op.get("security", [{}])
        }
        admin = served.create_key("admin", "fuzzer")

        keyed = fuzz(served, tmp_path, KEYED_EXAMPLES, "--header", f"Authorization: Bearer {admin}")
        assert keyed.returncode == 0, keyed.stdout[-12000:]
        assert f"Tested: {len(operations)}" in keyed.stdout, keyed.stdout[-3000:]
        # The admin key stayed valid throughout (a key cannot revoke itself over the API).
        assert refused_operations(keyed.stdout) == set(), keyed.stdout[-3000:]

        anonymous = fuzz(served, tmp_path, ANONYMOUS_EXAMPLES)
        assert anonymous.returncode == 0, anonymous.stdout[-12000:]
        # Without a key exactly the operations that need one are refused; the open ones work.
        assert refused_operations(anonymous.stdout) == keyed_only, anonymous.stdout[-3000:]
    assert "Traceback" not in served.output()
