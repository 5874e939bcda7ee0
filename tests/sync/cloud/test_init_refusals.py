"""``stampedge cloud init`` cannot hurt: it never replaces a till's config or makes a second
business of the same name without ``--force``, and refuses unknown currencies and time zones,
before it creates anything."""

import asyncio
import subprocess
import sys
from pathlib import Path

from config import load_agent_settings
from sync.cloud.store import open_store
from tests.sync.cloud.procs import ENV, write_config


def _init(config: Path, *extra: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "cloud", "init", "--config", str(config),
         "--business", "Corner Cafe", "--branch", "Main", "--rule", "per_order", *extra],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip


async def _businesses(db: Path, name: str = "Corner Cafe") -> list[int]:
    store = await open_store(f"sqlite:///{db}")
    try:
        return await store.businesses_named(name)
    finally:
        await store.close()


def _refused(done: "subprocess.CompletedProcess[str]", *words: str) -> None:
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("stampedge: ") and all(w in line for w in words), line


async def test_a_second_business_of_the_same_name_needs_force(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    assert _init(config).returncode == 0
    _refused(_init(config), "'Corner Cafe' already exists", "--force")
    _refused(_init(config, "--business", " corner cafe "), "already exists")
    assert len(await _businesses(tmp_path / "c.db")) == 1
    assert _init(config, "--force").returncode == 0
    assert len(await _businesses(tmp_path / "c.db")) == 2


async def test_an_existing_agent_config_is_kept_and_nothing_is_created(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    agent = tmp_path / "agent.toml"
    agent.write_text("# till 1's keys\n")
    _refused(_init(config, "--write-agent-config", str(agent)), str(agent), "exists", "--force")
    assert agent.read_text() == "# till 1's keys\n"
    assert not (tmp_path / "c.db").exists() or await _businesses(tmp_path / "c.db") == []
    done = _init(config, "--write-agent-config", str(agent), "--force", "--currency", "USD")
    assert done.returncode == 0, done.stderr
    assert (await asyncio.to_thread(load_agent_settings, agent)).program.currency == "USD"


async def test_unknown_currency_or_time_zone_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    config, _ = write_config(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    _refused(_init(config, "--currency", "EUX"), "unknown currency 'EUX'")
    _refused(_init(config, "--currency", "eur"), "unknown currency 'eur'")
    _refused(_init(config, "--timezone", "Europe/Atlantis"), "unknown time zone")
    assert await _businesses(tmp_path / "c.db") == []
    done = _init(config, "--timezone", "Europe/Berlin", "--currency", "CHF")
    assert done.returncode == 0, done.stderr
    assert '"currency": "CHF"' in done.stdout and '"timezone": "Europe/Berlin"' in done.stdout
