"""``stampedge agent backup`` and ``stampedge agent restore``: a consistent copy of a running
agent's database, put back in place with every acknowledged check; clear one-line refusals that
never touch the database in place."""

import asyncio
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp

from agent.db import SCHEMA_VERSION
from tests.agent.conftest import SECRET
from tests.agent.test_kill9 import post_orders_until, start_agent, wait_healthy
from tests.conftest import REPO, free_port

FIXTURE = Path(__file__).parent / "fixtures" / "agent-0.1.0.db"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def agent_config(tmp_path: Path, port: int = 0) -> Path:
    """``tmp_path/agent.toml``: data in ``tmp_path/data``, no cloud, no printer."""
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[cloud]\nurl = ""\ndevice_key = "sk_3_x"\ndevice_secret = "{SECRET}"\n'
    )
    return config


def agent_cli(config: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    """``stampedge agent ARGS --config CONFIG`` run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "agent", *args, "--config", str(config)],
        capture_output=True, text=True, env=ENV, timeout=120, check=False,
    )  # fmt: skip


async def _acli(config: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.cli", "agent", *args, "--config", str(config), env=ENV,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _orders(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {row[0] for row in conn.execute("SELECT order_id FROM orders")}
    finally:
        conn.close()


def _digest(data: Path) -> dict[str, str]:
    """Every file of the database in place (the file, its WAL), by content."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.glob("agent.db*"))
        if not p.name.endswith(("-shm", ".lock"))
    }


def _one_line_refusal(done: "subprocess.CompletedProcess[str]", words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert words in done.stderr, done.stderr
    assert done.stdout == ""


async def test_given_an_agent_taking_checks_when_backed_up_and_restored_then_every_acked_check_is_back(  # noqa: E501
    tmp_path: Path,
) -> None:
    """Given an agent subprocess taking checks from two tills, when ``agent backup`` runs
    meanwhile, then the copy holds every check acknowledged before it began (0600, a JSON report);
    a restore is refused while the agent runs; once stopped, ``agent restore`` puts the copy in
    place, keeps the replaced file as ``agent.db.before-restore``, and the agent started on it
    answers every check of the copy as it did (a resend is a 200, never a second stamp)."""
    port = free_port()
    config = agent_config(tmp_path, port)
    data = tmp_path / "data"
    url = f"http://127.0.0.1:{port}"
    acked: set[str] = set()
    unsure: set[str] = set()
    proc = start_agent(config)
    try:
        await wait_healthy(url, proc)
        stop = asyncio.Event()
        tills = [
            asyncio.create_task(post_orders_until(url, f"t{i}", acked, unsure, stop))
            for i in range(2)
        ]
        while len(acked) < 200:
            await asyncio.sleep(0.02)
        before = set(acked)
        code, out, err = await _acli(config, "backup", "--to", str(tmp_path / "nightly.db"))
        during = len(acked) - len(before)
        busy = await _acli(config, "restore", "--from", str(tmp_path / "nightly.db"))
        stop.set()
        await asyncio.gather(*tills)
    finally:
        proc.send_signal(signal.SIGTERM)  # a clean stop: the group commit finishes
        assert proc.wait(timeout=60) == 0
    assert not unsure

    assert code == 0, err
    report = json.loads(out)
    copy = _orders(tmp_path / "nightly.db")
    assert before <= copy <= acked  # all acknowledged before it began; nothing invented
    assert during > 0  # the tills kept being answered while it copied
    assert report["backup"] == str(tmp_path / "nightly.db")
    assert report["orders"] == len(copy)
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["outbox"]["pending"] >= len(copy)  # no cloud: every check's event waits
    assert (tmp_path / "nightly.db").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "nightly.db.partial").exists()

    code, out, err = busy  # refused while the agent had the database open
    assert code == 2 and len(err.splitlines()) == 1 and "stop it first" in err, err
    assert _orders(data / "agent.db") == acked

    done = agent_cli(config, "restore", "--from", str(tmp_path / "nightly.db"))
    assert done.returncode == 0, done.stderr
    restored = json.loads(done.stdout)
    assert restored["orders"] == len(copy)
    assert restored["before_restore"] == str(data / "agent.db.before-restore")
    assert _orders(data / "agent.db") == copy
    assert _orders(data / "agent.db.before-restore") == acked  # what was replaced is kept
    assert (data / "agent.db").stat().st_mode & 0o777 == 0o600
    assert not (data / "agent.db.partial").exists()

    proc = start_agent(config)
    try:
        await wait_healthy(url, proc)
        async with aiohttp.ClientSession() as session:
            for order_id in sorted(before):
                till = order_id.rsplit("-", 1)[0]
                body = {"order_id": order_id, "total": "12.50", "till": till}
                async with session.post(url + "/v1/orders", json=body) as resp:
                    assert resp.status == 200, (order_id, await resp.text())
            async with session.get(url + "/health") as resp:
                health = await resp.json()
        assert health["outbox"]["pending"] == report["outbox"]["pending"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_given_a_bad_backup_when_restored_then_one_line_exit_2_and_the_database_untouched(
    tmp_path: Path,
) -> None:
    """Given an agent database in place, when ``agent restore`` is given a missing file, random
    bytes, a damaged database, a database of another program or one from a newer release, then
    each is refused with one line and exit 2, and the database in place is byte for byte as it
    was, with no ``before-restore`` or partial file left."""
    config = agent_config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "agent.db")
    before = _digest(data)

    damaged = tmp_path / "damaged.db"
    shutil.copy(FIXTURE, damaged)
    with damaged.open("r+b") as f:  # a page of the orders' tree overwritten by garbage
        f.seek(3 * 4096)
        f.write(os.urandom(4096))
    newer = tmp_path / "newer.db"
    shutil.copy(FIXTURE, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    noise = tmp_path / "noise.db"
    noise.write_bytes(os.urandom(8192))

    cases = {
        tmp_path / "missing.db": "no such file",
        noise: "not a sound SQLite database",
        damaged: "damaged.db",
        other: "not a Stampedge agent database",
        newer: f"schema version {SCHEMA_VERSION + 1}, newer than this release knows",
    }
    for source, words in cases.items():
        _one_line_refusal(agent_cli(config, "restore", "--from", str(source)), words)
        assert _digest(data) == before, source
        assert {p.name for p in data.iterdir()} - {"agent.db.lock"} == {"agent.db"}, source

    _one_line_refusal(agent_cli(config, "restore"), "--from")
    _one_line_refusal(agent_cli(config, "backup"), "--to")
    (tmp_path / "taken.db").write_bytes(b"yesterday's backup")
    _one_line_refusal(agent_cli(config, "backup", "--to", str(tmp_path / "taken.db")), "exists")
    assert (tmp_path / "taken.db").read_bytes() == b"yesterday's backup"

    # A sound backup restores; a second restore would overwrite the kept file, so it waits.
    good = agent_cli(config, "backup", "--to", str(tmp_path / "good.db"))
    assert good.returncode == 0, good.stderr
    assert agent_cli(config, "restore", "--from", str(tmp_path / "good.db")).returncode == 0
    assert (data / "agent.db.before-restore").read_bytes() == FIXTURE.read_bytes()
    _one_line_refusal(
        agent_cli(config, "restore", "--from", str(tmp_path / "good.db")), "earlier restore"
    )


def test_given_a_restore_under_way_then_the_agent_and_queue_wait_with_one_line(
    tmp_path: Path,
) -> None:
    """Given a restore holding the database (its exclusive lock, taken as ``agent restore``
    takes it), when the agent or ``stampedge queue status`` starts, then each exits 2 with one
    line saying a restore is under way, and neither migrated or changed the database; with no
    database yet, the agent does not make one."""
    from agent.db.lock import hold_exclusive, release

    config = agent_config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    hold = hold_exclusive(data / "agent.db")
    try:
        _one_line_refusal(agent_cli(config), "is being restored")
        assert not (data / "agent.db").exists()
    finally:
        release(hold)
    shutil.copy(FIXTURE, data / "agent.db")
    before = _digest(data)
    hold = hold_exclusive(data / "agent.db")
    try:
        for args in (("agent",), ("queue", "status")):
            done = subprocess.run(
                [sys.executable, "-m", "agent.cli", *args, "--config", str(config)],
                capture_output=True, text=True, env=ENV, timeout=120, check=False,
            )  # fmt: skip
            _one_line_refusal(done, "is being restored")
            assert _digest(data) == before
    finally:
        release(hold)
