"""What a person sees when start-up cannot work: one line on stderr, exit code 2, no traceback,
and the process ends (nothing left running that would hold a service's stop)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.conftest import SECRET
from tests.conftest import REPO


def _run(args: list[str], env: dict[str, str] | None = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(done: "subprocess.CompletedProcess[str]") -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("stampedge: ")]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def taken_port() -> "socket.socket":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_agent_on_a_port_in_use(tmp_path: Path, taken_port: socket.socket) -> None:
    port = taken_port.getsockname()[1]
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n'
        f'[cloud]\nurl = ""\ndevice_secret = "{SECRET}"\n'
    )
    with taken_port:
        line = _one_line(_run(["agent", "--config", str(config)]))
    assert f"('127.0.0.1', {port})" in line and "address already in use" in line


def test_cloud_on_a_port_in_use(tmp_path: Path, taken_port: socket.socket) -> None:
    port = taken_port.getsockname()[1]
    config = tmp_path / "cloud.toml"
    config.write_text(f'[cloud]\nlisten = "127.0.0.1:{port}"\ndatabase = "sqlite:///c.db"\n')
    with taken_port:
        line = _one_line(_run(["cloud", "--config", str(config)]))
    assert "address already in use" in line


@pytest.mark.postgres
def test_cloud_with_a_wrong_postgresql_login(tmp_path: Path, fresh_pg_dsn: str) -> None:
    wrong = fresh_pg_dsn.replace("postgres@", "stampedge_no_such_role@", 1)
    config = tmp_path / "cloud.toml"
    config.write_text(f'[cloud]\ndatabase = "{wrong}"\n')
    line = _one_line(_run(["cloud", "--config", str(config)]))
    assert line.startswith("stampedge: cloud.database postgresql: ")
    assert "stampedge_no_such_role" in line


def test_an_unreadable_config(tmp_path: Path) -> None:
    line = _one_line(_run(["agent", "--config", str(tmp_path)]))
    assert line == f"stampedge: config file {tmp_path}: cannot read: not a file"
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "agent.toml"
        locked.write_text("[agent]\n")
        locked.chmod(0)
        line = _one_line(_run(["agent", "--config", str(locked)]))
        assert "cannot read: Permission denied" in line


def test_a_bad_value_from_the_environment_is_named_as_such(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[cloud]\ndevice_secret = "{SECRET}"\n')
    line = _one_line(
        _run(["agent", "--config", str(config)], env={"STAMPEDGE_AGENT__LISTEN": "nowhere"})
    )
    assert "agent.listen (from the environment, STAMPEDGE_AGENT__LISTEN): expected host:port" in (
        line
    )
