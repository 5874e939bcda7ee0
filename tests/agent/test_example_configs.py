"""The example config files name every setting the models have (and no other), each with a
comment saying what it does; both load as they are."""

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from config import AgentSettings, CloudSettings, load_agent_settings, load_cloud_settings
from tests.agent.conftest import SECRET
from tests.conftest import REPO

SECTION = re.compile(r"^(?:#\s*)?\[\[?([a-z_.]+)\]\]?")
SETTING = re.compile(r"^(?:#\s*)?([a-z_]+)\s*=\s*(.*)$")


def _documented(path: Path) -> dict[tuple[str, str], str]:
    """(section, key) -> its comment, for every setting line, commented out or not."""
    found: dict[tuple[str, str], str] = {}
    section = ""
    for line in path.read_text().splitlines():
        if m := SECTION.match(line):
            section = m.group(1)
            continue
        if (m := SETTING.match(line)) and section:
            _, sep, comment = m.group(2).partition(" # ")
            found[(section, m.group(1))] = comment.strip() if sep else ""
    return found


def _model(annotation: Any) -> type[BaseModel] | None:
    """The section model in ``X``, ``X | None`` or ``list[X]``; None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if (found := _model(arg)) is not None:
            return found
    return None


def _fields(settings: type[BaseModel], prefix: str = "") -> set[tuple[str, str]]:
    """(section, key) of every setting; a section inside a section is ``wallet.apple``."""
    out = set()
    for name, field in settings.model_fields.items():
        model = _model(field.annotation)
        if model is None:
            out.add((prefix, field.alias or name))  # ``from`` is spelt ``from_`` in Python
        else:
            out |= _fields(model, f"{prefix}.{name}" if prefix else name)
    return out


@pytest.mark.parametrize(("name", "settings"), [("agent", AgentSettings), ("cloud", CloudSettings)])
def test_every_setting_is_in_the_example_with_a_comment(
    name: str, settings: type[BaseModel]
) -> None:
    documented = _documented(REPO / "config" / f"{name}.example.toml")
    fields = _fields(settings)
    assert sorted(fields - documented.keys()) == [], "missing from the example"
    assert sorted(documented.keys() - fields) == [], "in the example but not a setting"
    assert sorted(k for k, comment in documented.items() if not comment) == [], "no comment"


def test_both_examples_load_as_they_are() -> None:
    agent = load_agent_settings(
        REPO / "config" / "agent.example.toml", {"cloud": {"device_secret": SECRET}}
    )
    assert agent.agent.data_dir == REPO / "config" / "var" / "agent"
    cloud = load_cloud_settings(REPO / "config" / "cloud.example.toml")
    assert cloud.cloud.database == f"sqlite:///{REPO / 'config' / 'var' / 'cloud.db'}"
