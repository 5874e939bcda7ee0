"""Relative paths in a settings file mean "beside that file", not "wherever the service started".

A service started from ``/`` with ``data_dir = "./var/agent"`` used to open a new, empty outbox
there, and the till's resends then stamped twice. The loader calls :func:`resolve_relative_paths`
once the settings from a file are valid: every ``Path`` setting, at any depth, and every
``sqlite:///`` URL is made absolute against the file's folder. Settings without a file (the
environment, tests) keep their paths as given: relative to the working folder, as always.
"""

import os
from pathlib import Path

from pydantic import BaseModel

SQLITE = "sqlite:///"


def resolve_path(value: Path, base: Path) -> Path:
    """``value`` made absolute against ``base`` (``~`` expanded first, ``..`` folded)."""
    value = value.expanduser()
    # normpath, not resolve(): a symlinked data folder stays as configured.
    return Path(os.path.normpath(value if value.is_absolute() else base / value))


def resolve_sqlite_url(url: str, base: Path) -> str:
    """A ``sqlite:///relative/file`` URL made absolute the same way; other URLs unchanged."""
    if not url.startswith(SQLITE):
        return url
    return SQLITE + str(resolve_path(Path(url.removeprefix(SQLITE)), base))


def resolve_relative_paths(model: BaseModel, base: Path) -> None:
    """Make every path setting of ``model`` (sections and lists of sections too) absolute."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path):
            setattr(model, name, resolve_path(value, base))
        elif isinstance(value, str) and value.startswith(SQLITE):
            setattr(model, name, resolve_sqlite_url(value, base))
        elif isinstance(value, BaseModel):
            resolve_relative_paths(value, base)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    resolve_relative_paths(item, base)
