"""Relative paths in a config file are beside that file, whatever folder the agent starts in."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from config import load_agent_settings, load_cloud_settings
from tests.agent.conftest import SECRET
from tests.agent.test_kill9 import wait_healthy
from tests.conftest import REPO, free_port


def test_relative_paths_are_resolved_against_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given relative data_dir, printer path and SQLite URL, when loaded from another folder,
    then each lies beside the config file."""
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "agent.toml").write_text(
        f'[agent]\ndata_dir = "data"\n[cloud]\ndevice_secret = "{SECRET}"\n'
        '[printer]\nkind = "file"\npath = "./receipts"\n'
    )
    (etc / "cloud.toml").write_text('[cloud]\ndatabase = "sqlite:///./var/cloud.db"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    agent = load_agent_settings(Path("../etc/agent.toml"))
    assert agent.agent.data_dir == etc.resolve() / "data"
    assert agent.agent.database == etc.resolve() / "data" / "agent.db"
    assert agent.printer.path == etc.resolve() / "receipts"
    cloud = load_cloud_settings(etc / "cloud.toml")
    assert cloud.cloud.database == f"sqlite:///{etc.resolve() / 'var' / 'cloud.db'}"


def test_without_a_file_paths_stay_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings from the environment alone keep relative paths relative to the working folder
    (nothing to be beside); /health still shows the absolute file (the next test)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STAMPEDGE_AGENT__DATA_DIR", "here")
    settings = load_agent_settings(None, {"cloud": {"device_secret": SECRET}})
    assert settings.agent.data_dir == Path("here")


def _agent(config: Path, cwd: Path) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "agent", "--config", str(config)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _stop(proc: "subprocess.Popen[bytes]") -> bytes:
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.to_thread(proc.communicate, timeout=30)
    assert proc.returncode == 0, err
    return err


async def test_given_one_config_started_from_two_folders_then_one_database(
    tmp_path: Path,
) -> None:
    """Given a config with a relative data_dir, when the agent runs from folder A and records a
    check, and then from folder B, then B finds the check, /health names the same absolute file,
    and the start-up log says which file it opened."""
    etc = tmp_path / "etc"
    etc.mkdir()
    port = free_port()
    config = etc / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n'
        f'[cloud]\nurl = ""\ndevice_secret = "{SECRET}"\n'
    )
    url = f"http://127.0.0.1:{port}"
    expected_db = str(etc.resolve() / "data" / "agent.db")
    seen = []
    for name in ("a", "b"):
        cwd = tmp_path / name
        cwd.mkdir()
        proc = _agent(config, cwd)
        try:
            await wait_healthy(url, proc)
            async with aiohttp.ClientSession() as session:
                if name == "a":
                    body = {"order_id": "A-1", "total": "12.00", "till": "till-1"}
                    async with session.post(url + "/v1/orders", json=body) as resp:
                        assert resp.status == 201, await resp.text()
                async with session.get(url + "/v1/orders/A-1") as resp:
                    assert resp.status == 200, await resp.text()
                async with session.get(url + "/health") as resp:
                    seen.append((await resp.json())["database"])
                async with session.get(url + "/", headers={"Accept": "text/html"}) as resp:
                    assert expected_db in await resp.text()
        finally:
            err = await _stop(proc)
        assert f"agent database at {expected_db}" in err.decode()
        assert not (cwd / "var").exists() and not (cwd / "data").exists()
    assert seen == [expected_db, expected_db]


def test_dot_dot_is_folded(tmp_path: Path) -> None:
    """A ``..`` in a relative path is folded, so systemd's ReadWritePaths takes it as is."""
    (tmp_path / "etc").mkdir()
    config = tmp_path / "etc" / "cloud.toml"
    config.write_text('[cloud]\ndatabase = "sqlite:///../var/cloud.db"\n')
    assert load_cloud_settings(config).cloud.database == f"sqlite:///{tmp_path}/var/cloud.db"
