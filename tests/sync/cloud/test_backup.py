"""``stampedge cloud backup``: a consistent copy of a running SQLite store, under sync load, and
clear refusals that never touch an existing file."""

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from sync.cloud.store import open_store
from sync.cloud.store.schema import migrations
from tests.sync.cloud.conftest import event, order
from tests.sync.cloud.procs import ENV, CloudProcess, cloud_init, write_config

BACKUP = [sys.executable, "-m", "agent.cli", "cloud", "backup", "--config"]


async def _backup(config: Path, target: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *BACKUP, str(config), "--to", str(target), env=ENV,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _ids(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {row[0] for row in conn.execute("SELECT id FROM events")}
    finally:
        conn.close()


async def test_given_agents_syncing_then_a_backup_holds_every_event_acknowledged_before_it(
    tmp_path: Path,
) -> None:
    config, port = write_config(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}")
    link = cloud_init(config)
    cloud = CloudProcess(config, port, tmp_path / "cloud.log")
    acked: list[str] = []
    sent: set[str] = set()
    stop = asyncio.Event()

    async def sync_load(session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {link['device_key']}"}
        n = 0
        while not stop.is_set():
            batch = [event("order.recorded", order(f"B-{n}-{i}")) for i in range(50)]
            sent.update(e["id"] for e in batch)
            async with session.post(
                f"{cloud.url}/v1/sync/events", json={"events": batch}, headers=headers
            ) as resp:
                body: Any = await resp.json()
            assert resp.status == 200 and all(r["status"] == "applied" for r in body["results"])
            acked.extend(e["id"] for e in batch)
            n += 1

    try:
        await cloud.wait_healthy()
        async with aiohttp.ClientSession() as session:
            load = asyncio.create_task(sync_load(session))
            while len(acked) < 500:
                await asyncio.sleep(0.01)
            before = set(acked)
            code, out, err = await _backup(config, tmp_path / "nightly.db")
            during = len(acked) - len(before)
            stop.set()
            await load
        assert code == 0, err
        report = json.loads(out)
        copy = _ids(tmp_path / "nightly.db")
        assert before <= copy <= sent  # all acknowledged before it began; nothing invented
        assert report["events"] == len(copy)
        assert report["schema_version"] == len(migrations("sqlite"))
        assert (tmp_path / "nightly.db").stat().st_mode & 0o777 == 0o600  # device secrets inside
        assert report["backup"] == str(tmp_path / "nightly.db")
        assert during > 0  # the agents kept syncing while it copied
        assert not (tmp_path / "nightly.db.partial").exists()
    finally:
        cloud.stop()
    # a stopped cloud's store copies as well, with everything; the copy opens as a store
    code, out, err = await _backup(config, tmp_path / "after.db")
    assert code == 0, err
    assert _ids(tmp_path / "after.db") == set(acked) == _ids(tmp_path / "cloud.db")
    store = await open_store(f"sqlite:///{tmp_path / 'after.db'}")
    try:
        assert store.schema_version == len(migrations("sqlite"))
    finally:
        await store.close()


def test_backup_refuses_clearly_and_never_overwrites(tmp_path: Path) -> None:
    config, _ = write_config(tmp_path, f"sqlite:///{tmp_path / 'cloud.db'}")

    def run(*args: str, on: Path = config) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BACKUP, str(on), *args], capture_output=True, text=True, env=ENV,
                              timeout=60, check=False)  # fmt: skip

    missing = run("--to", str(tmp_path / "b.db"))  # no store yet
    assert missing.returncode == 2 and "no such file" in missing.stderr
    cloud_init(config)
    existing = tmp_path / "b.db"
    existing.write_bytes(b"yesterday's backup")
    again = run("--to", str(existing))
    assert again.returncode == 2 and "exists" in again.stderr
    assert existing.read_bytes() == b"yesterday's backup"
    no_target = run()
    assert no_target.returncode == 2 and "--to" in no_target.stderr
    no_dir = run("--to", str(tmp_path / "nowhere" / "b.db"))
    assert no_dir.returncode == 2 and "no such directory" in no_dir.stderr
    pg, _ = write_config(tmp_path, "postgresql://postgres@127.0.0.1:5432/test")
    refused = run("--to", str(tmp_path / "pg.db"), on=pg)
    assert refused.returncode == 2 and "pg_dump" in refused.stderr
    assert not (tmp_path / "pg.db").exists()
    for r in (missing, again, no_target, no_dir, refused):
        assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    ok = run("--to", str(tmp_path / "c.db"))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["customers"] == 0
