"""The customer's and the owner's pages end to end in Chromium: a check at the agent, its QR
opened on a phone, the card, a second open, and the branch dashboard with its charts."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from tests.agent.conftest import AgentFactory
from tests.conftest import PHONE, free_port
from tests.pages.a11y import check_accessibility


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], dict[str, Any]]]:
    """A cloud store on SQLite on a real port, with one business provisioned."""
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    link = await init_business(
        store, business="Corner Cafe", branch="Main Street", rule="by_amount",
        step=Decimal("10"), goal=10,
    )  # fmt: skip
    port = free_port()
    settings = load_cloud_settings(None, {"cloud": {"public_url": f"http://127.0.0.1:{port}"}})
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_cloud_app(settings, store=store), host="127.0.0.1", port=port)
    )
    await client.start_server()
    try:
        yield client, link
    finally:
        await client.close()
        await store.close()


async def _agent_for(make_agent: AgentFactory, cloud: TestClient[Any, Any], link: dict[str, Any]):  # type: ignore[no-untyped-def]
    base = str(cloud.make_url("")).rstrip("/")
    return await make_agent(
        cloud={
            "url": base,
            "device_key": link["device_key"],
            "device_secret": link["device_secret"],
            "claim_base_url": base + "/C/",
            "sync_interval_s": 0.2,
        }
    )


async def _synced(agent: Any) -> None:
    for _ in range(200):
        health = await (await agent.get("/health")).json()
        if health["outbox"]["pending"] == 0 and health["outbox"]["sent"] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the agent never synced: {health}")


async def test_a_receipt_qr_claimed_on_a_phone_lands_on_a_card_the_phone_keeps(
    make_agent: AgentFactory, cloud: Any, browser: Any, artifacts_dir: Path
) -> None:
    http, link = cloud
    agent = await _agent_for(make_agent, http, link)
    first = await (
        await agent.post("/v1/orders", json={"order_id": "J-1", "total": "23.50"})
    ).json()
    url = first["claim"]["url"]
    assert url.startswith("HTTP://") and "/C/" in url

    phone = await browser.new_context(**PHONE)
    page = await phone.new_page()
    resp = await page.goto(url)
    assert resp.status == 200
    await check_accessibility(page)
    await page.get_by_role("button", name="Collect my stamps").click()
    await page.wait_for_selector("#added")
    assert await page.inner_text("#added") == "2 stamps added to your card"
    assert await page.inner_text("#balance") == "2 of 10 stamps"
    assert await page.inner_text("h1") == "Corner Cafe"  # the shop's name, not ours
    assert await page.locator(".stamp.on").count() == 2
    await check_accessibility(page)
    await page.screenshot(path=str(artifacts_dir / "journey-1-claimed.png"), full_page=True)

    await page.get_by_role("link", name="Show my card").click()
    await page.wait_for_selector("#card-code")
    code = await page.inner_text("#card-code")
    assert code.startswith("SC") and len(await page.inner_text("#card-number")) == 6
    assert await page.inner_text("#balance") == "2 of 10 stamps"
    await check_accessibility(page)
    await page.screenshot(path=str(artifacts_dir / "journey-2-card.png"), full_page=True)

    again = await page.goto(url)
    assert again.status == 409
    assert "Already claimed" in await page.inner_text("h1")
    await page.screenshot(path=str(artifacts_dir / "journey-3-already.png"), full_page=True)

    # The next receipt lands on the same card: the phone kept it.
    second = await (await agent.post("/v1/orders", json={"order_id": "J-2", "total": "31"})).json()
    await page.goto(second["claim"]["url"])
    await page.get_by_role("button", name="Collect my stamps").click()
    await page.wait_for_selector("#balance")
    assert await page.inner_text("#balance") == "5 of 10 stamps"
    await page.goto(str(http.make_url("/card")))
    assert await page.inner_text("#card-code") == code

    # A forged receipt and a made-up card link are refused in plain words.
    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    bad = await page.goto(forged)
    assert bad.status == 404 and "cannot read this receipt" in await page.inner_text("main")
    nosuch = await page.goto(str(http.make_url(f"/card/{code}/0123456789abcdef01234567")))
    assert nosuch.status == 404
    await phone.close()

    # The owner's dashboard, after the agent has synced its checks.
    await _synced(agent)
    owner = await browser.new_page(viewport={"width": 1280, "height": 900})
    login = await owner.goto(str(http.make_url("/dashboard")))
    assert login.status == 401
    await owner.fill("#key", "ak_wrong")
    await owner.click("button[type=submit]")
    assert await owner.is_visible("text=not an admin key")
    await owner.fill("#key", link["admin_key"])
    await owner.click("button[type=submit]")
    await owner.wait_for_selector(".branch")
    assert await owner.inner_text(".total-orders") == "2"
    assert await owner.inner_text(".conversion") == "100%"  # CLDR English percent
    assert await owner.locator("svg.chart").count() == 2
    await check_accessibility(owner)
    await owner.screenshot(path=str(artifacts_dir / "journey-4-dashboard.png"), full_page=True)
    await owner.close()
