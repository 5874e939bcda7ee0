"""Load settings from a TOML file and the environment; turn every problem into one clear line."""

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource

from config.agent import AgentSettings
from config.cloud import CloudSettings
from config.paths import resolve_relative_paths

S = TypeVar("S", bound=BaseSettings)


class ConfigError(Exception):
    """A settings file or value that stops start-up; ``str()`` is the line to show."""


def _toml_source(settings_cls: type[BaseSettings], path: Path) -> PydanticBaseSettingsSource:
    """pydantic-settings' own TOML source for ``path``, its failures turned into one line."""
    # The source reads a missing file as empty; a named file that is not there is a mistake.
    if not path.exists():
        raise ConfigError(f"config file {path}: not found")
    if not path.is_file():
        raise ConfigError(f"config file {path}: cannot read: not a file")
    try:
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path}: not valid TOML: {err}") from err
    except OSError as err:
        raise ConfigError(f"config file {path}: cannot read: {err.strerror}") from err


def _describe(err: ValidationError, path: Path | None) -> str:
    where = f"config file {path}" if path else "configuration"
    env = {k.upper() for k in os.environ}
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        name = "STAMPEDGE_" + "__".join(str(p) for p in e["loc"][:2]).upper()
        if key and name in env:  # env beats the file: say where the bad value came from
            key = f"{key} (from the environment, {name})"
        lines.append(f"{key}: {msg}" if key else msg)
    return f"{where}: " + "; ".join(lines)


def _load(cls: type[S], path: Path | None, overrides: dict[str, Any] | None) -> S:
    # Read the file once, before pydantic-settings asks for the sources, so a bad file is
    # reported as such and not from inside the model's construction.
    toml = None if path is None else _toml_source(cls, path)

    class _Bound(cls):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls_,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings) + ((toml,) if toml is not None else ())

    try:
        bound = _Bound(**(overrides or {}))
        settings = cls.model_validate(bound.model_dump())
    except ValidationError as err:
        raise ConfigError(_describe(err, path)) from None
    if path is not None:  # relative paths are beside the file, wherever the process started
        resolve_relative_paths(settings, path.parent.absolute())
    return settings


def load_agent_settings(
    path: Path | str | None = None, overrides: dict[str, Any] | None = None
) -> AgentSettings:
    """The agent's settings: ``overrides`` beat env vars, which beat the TOML file."""
    return _load(AgentSettings, Path(path) if path else None, overrides)


def load_cloud_settings(
    path: Path | str | None = None, overrides: dict[str, Any] | None = None
) -> CloudSettings:
    """The cloud store's settings, by the same precedence as the agent's."""
    return _load(CloudSettings, Path(path) if path else None, overrides)
