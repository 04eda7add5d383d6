"""The README is what a new user reads: its settings table and commands must be true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simatch.settings_doc import env_names, markdown, settings_classes

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


def test_every_default_in_the_settings_table_can_be_set_as_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A default copied from the table into its variable gives the default itself (a list is
    written comma-separated, as its variable is read; an empty default is shown as unset)."""
    every = [env for cls in settings_classes() for env, _, _ in env_names(cls)]
    for env in every:
        monkeypatch.delenv(env, raising=False)
    monkeypatch.chdir(REPO)  # paths inside the checkout are shown relative to it
    checked = 0
    for cls in settings_classes():
        defaults = cls(_env_file=None)
        for name, (env, shown, _) in zip(cls.model_fields, env_names(cls), strict=True):
            if shown == "–":
                assert getattr(defaults, name) in (None, "", []), f"{env}: a default shown as unset"
                continue
            assert shown.startswith("`") and shown.endswith("`") and len(shown) > 2, env
            monkeypatch.setenv(env, shown[1:-1])
            got, want = getattr(cls(_env_file=None), name), getattr(defaults, name)
            monkeypatch.delenv(env)
            if isinstance(want, Path):
                got, want = Path(got).resolve(), want.resolve()
            assert got == want, f"{env}={shown[1:-1]} gives {got!r}, the default is {want!r}"
            checked += 1
    assert checked > 50  # the loop saw the table (83 defaults when written)
