"""End to end, scanner to cloud: bytes on a pty -> ``scan.stamped`` in the outbox -> uploaded
by the agent's sync and applied by the cloud store (acknowledged, not dead-lettered).

Skipped while the cloud store (``sync.cloud.app``) is not in this build; the outbox half of the
path is covered by ``test_serial_pty.py``.
"""

import importlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.http.state import OUTBOX
from config import load_cloud_settings
from tests.conftest import free_port
from tests.drivers.conftest import AgentFactory, Client
from tests.fakes.scanner import PtyScanner, eventually


def _cloud_parts() -> tuple[Any, Any, Any]:
    try:
        app = importlib.import_module("sync.cloud.app")
        provision = importlib.import_module("sync.cloud.provision")
        store = importlib.import_module("sync.cloud.store")
        return app.build_cloud_app, provision.init_business, store.open_store
    except (ModuleNotFoundError, AttributeError) as err:
        pytest.skip(f"the cloud store is not in this build yet: {err}")


async def _acked(agent: Client, event_type: str) -> bool:
    rows = await agent.app[OUTBOX].fetchall(
        "SELECT state FROM outbox WHERE type = ?", (event_type,)
    )
    assert all(r["state"] != "dead" for r in rows), "the cloud refused the event"
    return bool(rows) and all(r["state"] == "acked" for r in rows)


async def test_given_a_card_read_on_a_pty_then_the_stamp_reaches_the_cloud(
    make_agent: AgentFactory, pty_scanner: PtyScanner, tmp_path: Path
) -> None:
    build_cloud_app, init_business, open_store = _cloud_parts()
    from aiohttp import web

    port = free_port()
    settings = load_cloud_settings(
        None,
        {
            "cloud": {
                "listen": f"127.0.0.1:{port}",
                "database": f"sqlite:///{tmp_path / 'cloud.db'}",
                "public_url": f"http://127.0.0.1:{port}",
            }
        },
    )
    store = await open_store(settings.cloud.database)
    link = await init_business(
        store, business="Scan Cafe", branch="Till Street", rule="per_order",
        step=Decimal("10"), goal=10,
    )  # fmt: skip
    runner = web.AppRunner(build_cloud_app(settings, store=store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            resp = await http.post(
                f"http://127.0.0.1:{port}/v1/customers",
                json={"email": "scan@example.com"},
                headers={"Authorization": f"Bearer {link['admin_key']}"},
            )
            assert resp.status in (200, 201), await resp.text()
            card = (await resp.json())["card_code"]
        agent = await make_agent(
            cloud={
                "url": f"http://127.0.0.1:{port}",
                "device_key": link["device_key"],
                "device_secret": link["device_secret"],
                "sync_interval_s": 0.2,
            },
            scanner=[{"kind": "serial", "device": str(pty_scanner.link), "mode": "kiosk"}],
        )
        from agent.scans.routes import SCANNING

        scanner = agent.app[SCANNING].scanners[0].runner
        await eventually(lambda: _true(scanner.state == "ok"), what="the scanner")
        await pty_scanner.scan(card)
        await eventually(lambda: _acked(agent, "scan.stamped"), timeout_s=20, what="the upload")
    finally:
        await runner.cleanup()
        await store.close()


async def _true(value: bool) -> bool:
    return value
