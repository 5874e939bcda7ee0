"""Upgrading a till from the previous release: its database (made by 0.1.0 through its own API)
opens, migrates, keeps every row, and the checks it had not sent yet reach a real cloud."""

import asyncio
import json
import shutil
import signal
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agent.db import SCHEMA_VERSION
from agent.http.state import OUTBOX
from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store, open_store
from tests.agent.conftest import AgentFactory
from tests.agent.test_backup_restore import agent_cli, agent_config
from tests.agent.test_kill9 import start_agent, wait_healthy
from tests.conftest import free_port

FIXTURE = Path(__file__).parent / "fixtures" / "agent-0.1.0.db"


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any], Store]]:
    """A real cloud store (SQLite) serving on a real port, with one business."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path / 'cloud.db'}"
    settings = load_cloud_settings(
        None, {"cloud": {"listen": f"127.0.0.1:{port}", "database": db, "public_url": url}}
    )
    store = await open_store(db)
    link = await init_business(
        store, business="Bakery", branch="Old Town", rule="by_amount", step=Decimal("10"), goal=10
    )
    runner = web.AppRunner(build_cloud_app(settings, store=store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield url, link, store
    finally:
        await runner.cleanup()
        await store.close()


async def test_given_the_previous_release_s_database_then_its_unsent_events_reach_the_cloud(
    tmp_data: Path,
    tmp_path: Path,
    make_agent: AgentFactory,
    cloud: tuple[str, dict[str, Any], Store],
) -> None:
    """Given the 0.1.0 file (three checks, a void, a kiosk scan, five events never sent), when
    this release's agent starts on it linked to a cloud, then the file is at this release's
    schema with every check and event row it had, and the cloud answers every one of the five
    old events (none left pending, none dead-lettered for a format the cloud does not read)."""
    url, link, _store = cloud
    tmp_data.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, tmp_data / "agent.db")
    old_orders = _rows(FIXTURE, "SELECT order_id, body_hash, stamps FROM orders ORDER BY 1")
    old_events = _rows(FIXTURE, "SELECT event_id, type, payload FROM outbox ORDER BY seq")
    assert len(old_events) == 5

    agent = await make_agent(
        cloud={"url": url, "device_key": link["device_key"],
               "device_secret": link["device_secret"], "sync_interval_s": 0.2},
    )  # fmt: skip
    box = agent.app[OUTBOX]

    async def settled() -> dict[str, str]:
        rows = await box.fetchall("SELECT event_id, state, last_error FROM outbox")
        return {r["event_id"]: f"{r['state']} {r['last_error'] or ''}".strip() for r in rows}

    for _ in range(600):
        states = await settled()
        if all(s.split()[0] in ("acked", "dead") for s in states.values()):
            break
        await asyncio.sleep(0.05)
    await agent.close()

    scan = next(e[0] for e in old_events if e[1] == "scan.stamped")
    expected = {e[0]: "acked" for e in old_events}
    expected[scan] = "dead rejected by the cloud: unknown card number"
    assert states == expected
    applied = {r[0] for r in _rows(tmp_path / "cloud.db", "SELECT id FROM events")}
    assert applied == set(expected) - {scan}
    path = tmp_data / "agent.db"
    assert _rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert _rows(path, "SELECT order_id, body_hash, stamps FROM orders ORDER BY 1") == old_orders
    assert _rows(path, "SELECT event_id, type, payload FROM outbox ORDER BY seq") == old_events


async def test_given_a_backup_before_the_upgrade_then_a_rollback_gets_the_old_file_back(
    tmp_path: Path,
) -> None:
    """The README's upgrade and rollback, on the 0.1.0 file: ``agent backup`` before the upgrade
    (a file at schema 0), the new release starts (migrates to its schema) and takes a check;
    rolling back, ``agent restore`` of that backup gives a file the old release reads (schema 0,
    its three checks, not the new one), and keeps the upgraded file as ``before-restore``."""
    port = free_port()
    config = agent_config(tmp_path, port)
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "agent.db")

    backup = agent_cli(config, "backup", "--to", str(tmp_path / "pre-upgrade.db"))
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["schema_version"] == 0

    proc = start_agent(config)  # the upgrade: the new release's first start migrates
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, proc)
        async with aiohttp.ClientSession() as session:
            body = {"order_id": "after-upgrade", "total": "30", "till": "till-1"}
            async with session.post(url + "/v1/orders", json=body) as resp:
                assert resp.status == 201, await resp.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert _rows(data / "agent.db", "PRAGMA user_version") == [(SCHEMA_VERSION,)]

    restore = agent_cli(config, "restore", "--from", str(tmp_path / "pre-upgrade.db"))
    assert restore.returncode == 0, restore.stderr
    old = "SELECT order_id, body_hash, answer FROM orders ORDER BY 1"
    assert _rows(data / "agent.db", "PRAGMA user_version") == [(0,)]
    assert _rows(data / "agent.db", old) == _rows(FIXTURE, old)
    kept = data / "agent.db.before-restore"
    assert ("after-upgrade",) in _rows(kept, "SELECT order_id FROM orders")
