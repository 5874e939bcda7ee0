"""What a shop's IT person installs: a wheel built from this tree, in a fresh venv, from binary
packages only (no C compiler), runs the demo; and the systemd unit's ExecStart, run as its own
service user against a config in an /etc-like tree, answers /health.

The venv lives in a world-readable folder under /tmp (pytest's own tmp is owner-only) and is
made with the system's Python, so that a service user other than root can run it.
"""

import asyncio
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.agent.conftest import SECRET
from tests.conftest import REPO, free_port

pytestmark = pytest.mark.slow
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def _run(args: list[str | Path], **kw: object) -> "subprocess.CompletedProcess[str]":
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=900, check=False, **kw
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done  # type: ignore[no-any-return]


def _python() -> str:
    """The system's Python when it is recent enough (readable by any user), else this one's."""
    system = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if system is not None:
        ok = subprocess.run(
            [system, "-c", "import sys, venv; assert sys.version_info >= (3, 11)"],
            capture_output=True,
            check=False,
        )
        if ok.returncode == 0:
            return system
    return getattr(sys, "_base_executable", sys.executable)


@pytest.fixture(scope="module")
def venv() -> Iterator[Path]:
    """A fresh venv holding the wheel built from this tree, with the agent, cloud and wallet
    extras (the demo makes its own wallet certificates: agent/demo.py imports cryptography)."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    if "agent" not in extras.get("optional-dependencies", {}):
        pytest.skip("no agent/cloud extras in pyproject.toml yet: evdev (C) is still required")
    base = Path(tempfile.mkdtemp(prefix="stampedge-wheel-", dir="/tmp"))
    base.chmod(0o755)
    try:
        src = base / "src"
        files = _run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO).stdout.split()
        for name in files:
            if (REPO / name).is_file():
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, src / name)
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", base / "dist", src])
        [wheel] = (base / "dist").glob("stampedge-*.whl")
        _run([_python(), "-m", "venv", base / "venv"])
        # Binary packages only, and no compiler to fall back on: nothing may need building.
        env = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false"}
        _run([base / "venv/bin/pip", "install", "-q", "--only-binary=:all:",
              f"{wheel}[agent,cloud,wallet]"], env=env)  # fmt: skip
        yield base / "venv"
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def _wait_health(url: str, proc: "subprocess.Popen[bytes]") -> dict[str, object]:
    async with aiohttp.ClientSession() as session:
        for _ in range(1200):
            if proc.poll() is not None:
                raise AssertionError(f"exited with {proc.returncode}: {proc.stderr}")
            try:
                async with session.get(url + "/health") as resp:
                    if resp.status == 200:
                        body: dict[str, object] = await resp.json()
                        return body
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def _stop(proc: "subprocess.Popen[bytes]") -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(proc.wait, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_the_wheel_in_a_fresh_venv_runs_the_demo(venv: Path, tmp_path: Path) -> None:
    version = _run([venv / "bin/stampedge", "--version"]).stdout.strip()
    assert version == f"stampedge {VERSION}"
    agent_port, cloud_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(venv / "bin/stampedge"), "demo", "--dir", str(tmp_path / "var"),
         "--agent-port", str(agent_port), "--cloud-port", str(cloud_port)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=(tmp_path / "demo.log").open("wb"),
    )  # fmt: skip
    try:
        agent = f"http://127.0.0.1:{agent_port}"
        try:
            await _wait_health(agent, proc)
        except AssertionError as err:
            raise AssertionError((tmp_path / "demo.log").read_text()[-3000:]) from err
        await _wait_health(f"http://127.0.0.1:{cloud_port}", proc)
        async with (
            aiohttp.ClientSession() as session,
            session.post(agent + "/v1/orders", json={"order_id": "W-1", "total": "23.50"}) as r,
        ):
            assert r.status == 201, await r.text()
            assert (await r.json())["claim"]["url"]
    finally:
        await _stop(proc)


@pytest.fixture
def service_user() -> Iterator[pwd.struct_passwd]:
    """A throw-away system user, as ``service install`` would create."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("creating a service user needs root and useradd")
    name = f"stampedge-t{uuid.uuid4().hex[:6]}"
    _run(["useradd", "--system", "--user-group", "--no-create-home",
          "--shell", "/usr/sbin/nologin", name])  # fmt: skip
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


async def test_the_units_execstart_as_the_service_user_answers_health(
    venv: Path, service_user: pwd.struct_passwd
) -> None:
    """Given an /etc-like tree (config root:group 0640 with a relative data_dir, state folder
    owned by the user 0700), when the unit's ExecStart runs as the user with NOTIFY_SOCKET set,
    then it says READY, /health answers with the database in the state folder, and SIGTERM ends
    it cleanly."""
    user = service_user
    tree = Path(tempfile.mkdtemp(prefix="stampedge-root-", dir="/tmp"))
    tree.chmod(0o755)
    try:
        etc, state, run = tree / "etc/stampedge", tree / "var/lib/stampedge", tree / "run"
        for d in (etc, state, run):
            d.mkdir(parents=True)
            d.chmod(0o755)
        os.chown(state, user.pw_uid, user.pw_gid)
        state.chmod(0o700)
        etc.chmod(0o750)
        os.chown(etc, 0, user.pw_gid)
        port = free_port()
        config = etc / "agent.toml"
        config.write_text(
            f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "../../var/lib/stampedge/agent"\n'
            f'[cloud]\nurl = ""\ndevice_secret = "{SECRET}"\n'
        )
        os.chown(config, 0, user.pw_gid)
        config.chmod(0o640)
        _run([venv / "bin/stampedge", "service", "install", "--config", config,
              "--root", tree, "--user", user.pw_name])  # fmt: skip
        unit = (tree / "etc/systemd/system/stampedge-agent.service").read_text()
        assert f"User={user.pw_name}\n" in unit
        [line] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
        command = shlex.split(line.removeprefix("ExecStart="))
        assert command[0] == str(venv / "bin/stampedge")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(run / "notify"))
        (run / "notify").chmod(0o777)
        notify.settimeout(120)
        proc = subprocess.Popen(
            ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
             *command],
            cwd=state, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": str(run / "notify"),
                 "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            ready = (await asyncio.to_thread(notify.recv, 4096)).decode()
            assert ready.startswith("READY=1"), ready
            health = await _wait_health(f"http://127.0.0.1:{port}", proc)
            assert health["database"] == str(state / "agent/agent.db")
            db = state / "agent/agent.db"
            assert db.stat().st_uid == user.pw_uid
        finally:
            await _stop(proc)
            notify.close()
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        shutil.rmtree(tree, ignore_errors=True)
