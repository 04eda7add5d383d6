"""The settings table of the README, generated from the settings classes (one source of truth)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings

from simatch import config


def settings_classes() -> list[type[BaseSettings]]:
    return [
        obj
        for obj in vars(config).values()
        if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj is not BaseSettings
    ]


def env_names(cls: type[BaseSettings]) -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every field of a settings class."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    rows = []
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        env = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
        default = field.get_default(call_default_factory=True)
        if isinstance(default, Path) and default.is_relative_to(config.REPO_ROOT):
            default = default.relative_to(config.REPO_ROOT)  # the same in every checkout
        if isinstance(default, list):
            default = ",".join(str(item) for item in default)  # as the variable is written
        # Shown as it would be set; nothing (–) when unset and empty are the same.
        shown = "–" if default is None or default == "" else f"`{default}`"
        rows.append((env, shown, (field.description or "").replace("|", "\\|")))
    return rows


def markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for cls in settings_classes():
        concern = " ".join((cls.__doc__ or cls.__name__).strip().split("\n\n")[0].split())
        lines.append(f"| **{cls.__name__}** | | {concern} |")
        lines.extend(f"| `{env}` | {default} | {text} |" for env, default, text in env_names(cls))
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
