"""Load settings from a TOML file and the environment; turn every problem into one clear line."""

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from config.agent import AgentSettings
from config.cloud import CloudSettings

S = TypeVar("S", bound=BaseSettings)


class ConfigError(Exception):
    """A settings file or value that stops start-up; ``str()`` is the line to show."""


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path}: not found") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path}: not valid TOML: {err}") from err
    except OSError as err:
        raise ConfigError(f"config file {path}: cannot read: {err.strerror}") from err


def _describe(err: ValidationError, path: Path | None) -> str:
    where = f"config file {path}" if path else "configuration"
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{key}: {msg}" if key else msg)
    return f"{where}: " + "; ".join(lines)


def _load(cls: type[S], path: Path | None, overrides: dict[str, Any] | None) -> S:
    data = _read_toml(path)

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
            return (init_settings, env_settings, _TomlSource(settings_cls, data))

    try:
        bound = _Bound(**(overrides or {}))
        return cls.model_validate(bound.model_dump())
    except ValidationError as err:
        raise ConfigError(_describe(err, path)) from None


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
