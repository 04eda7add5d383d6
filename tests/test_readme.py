"""The README is what a new user reads: its settings table and commands must be true."""

from __future__ import annotations

import re
from pathlib import Path

from simatch.settings_doc import markdown

REPO = Path(__file__).resolve().parents[1]


def test_settings_table_is_current() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", readme, re.S)
    assert table, "README has no settings table markers"
    assert table.group(1).strip() == markdown().strip(), (
        "README settings table is stale: run `python -m simatch.settings_doc` and paste it"
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "./scripts/test" in ci
    assert "./scripts/test" in readme and "./scripts/run" in readme
