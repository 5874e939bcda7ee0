"""The batch reader's helper process ends with the cloud, even a SIGKILLed one (issue #14:
it lived on as an orphan, holding memory and the cloud's module files, after every kill -9)."""

import asyncio
import os
import signal
import time
from pathlib import Path

from tests.sync.cloud.procs import CloudProcess, cloud_init, write_config

GUARD_S = 60.0  # a guard against a hang, never a measurement: the helper ends in milliseconds


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux: ``/proc/<pid>/task/*/children``)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.update(int(p) for p in text.split())
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _helpers(pid: int) -> dict[int, str]:
    """The multiprocessing children of ``pid`` and their command lines."""
    lines = {p: _cmdline(p) for p in _children(pid)}
    return {p: line for p, line in lines.items() if "multiprocessing" in line}


def _wait_gone(pids: set[int], guard_s: float = GUARD_S) -> list[int]:
    """Wait (at most ``guard_s``) until none of ``pids`` is alive; those still alive."""
    deadline = time.monotonic() + guard_s
    while True:
        left = [p for p in pids if _alive(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


async def test_given_a_running_cloud_when_it_is_sigkilled_then_its_batch_reader_helper_ends(
    tmp_path: Path,
) -> None:
    config, port = write_config(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}")
    cloud_init(config)
    cloud = CloudProcess(config, port, tmp_path / "cloud.log")
    helpers: set[int] = set()
    try:
        await cloud.wait_healthy()
        # Given the cloud's helper processes (the batch reader, spawned at start-up)
        found = await asyncio.to_thread(_helpers, cloud.proc.pid)
        helpers = set(found)
        assert any("spawn_main" in line for line in found.values()), found
        # When the cloud is killed with SIGKILL (no clean-up of its own runs)
        os.kill(cloud.proc.pid, signal.SIGKILL)
        await asyncio.to_thread(cloud.proc.wait, GUARD_S)
        # Then no helper lives on
        left = await asyncio.to_thread(_wait_gone, helpers)
        assert not left, {p: found[p] for p in left}
    finally:
        cloud.stop()
        for p in await asyncio.to_thread(_wait_gone, helpers, 0.0):
            os.kill(p, signal.SIGKILL)  # only the helpers this test's cloud started
