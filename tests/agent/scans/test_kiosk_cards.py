"""A kiosk or staff scan of a card the agent's cache does not have: the cloud is asked.

Unknown to the cloud: refused (``unknown_card``), nothing queued. Known there: stamped, with
its balance. The cloud unreachable: stamped and said ``offline`` (saved, to be checked later).
"""

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from agent.http.state import DB
from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from sync.contract.card_code import new_card_code
from tests.agent.conftest import AgentFactory
from tests.conftest import free_port


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """A real cloud store on a free port with one business; yields its URL and keys."""
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
        store, business="Kiosk Cafe", branch="Main", rule="per_order", step=Decimal("10"), goal=8
    )
    runner = web.AppRunner(build_cloud_app(settings, store=store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield {"url": f"http://127.0.0.1:{port}", **link}
    finally:
        await runner.cleanup()
        await store.close()


async def _customer(cloud: dict[str, Any], email: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(
            f"{cloud['url']}/v1/customers",
            json={"email": email},
            headers={"Authorization": f"Bearer {cloud['admin_key']}"},
        )
        assert resp.status in (200, 201), await resp.text()
        found: dict[str, Any] = await resp.json()
        return found


def _link(cloud: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": cloud["url"],
        "device_key": cloud["device_key"],
        "device_secret": cloud["device_secret"],
        "sync_interval_s": 60,
    }


async def _queued(agent: Any) -> int:
    rows = await agent.app[DB].fetchall(
        "SELECT COUNT(*) AS n FROM outbox WHERE type = ?", ("scan.stamped",)
    )
    return int(rows[0]["n"])


async def test_given_a_card_the_cloud_does_not_know_then_the_kiosk_refuses_it(
    make_agent: AgentFactory, cloud: dict[str, Any]
) -> None:
    agent = await make_agent(cloud=_link(cloud))
    resp = await agent.post("/v1/scans", json={"code": new_card_code(), "mode": "kiosk"})
    body = await resp.json()
    assert resp.status == 422 and body["reason"] == "unknown_card", body
    assert await _queued(agent) == 0


async def test_given_a_card_only_the_cloud_knows_then_it_is_stamped_with_its_balance(
    make_agent: AgentFactory, cloud: dict[str, Any]
) -> None:
    card = (await _customer(cloud, "new@example.com"))["card_code"]
    agent = await make_agent(cloud=_link(cloud))
    resp = await agent.post("/v1/scans", json={"code": card, "mode": "kiosk"})
    body = await resp.json()
    assert resp.status == 200 and body["outcome"] == "stamped", body
    assert body["offline"] is False and body["balance"] == 1
    assert await _queued(agent) == 1


async def test_given_the_cloud_unreachable_then_the_scan_is_saved_and_said_offline(
    make_agent: AgentFactory,
) -> None:
    link = {"url": f"http://127.0.0.1:{free_port()}", "device_key": "sk_7_x", "timeout_s": 1}
    agent = await make_agent(cloud=link)
    resp = await agent.post("/v1/scans", json={"code": new_card_code(), "mode": "kiosk"})
    body = await resp.json()
    assert resp.status == 200 and body["outcome"] == "stamped", body
    assert body["offline"] is True and body["balance"] is None
    assert await _queued(agent) == 1
