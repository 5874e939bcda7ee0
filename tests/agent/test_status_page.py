"""The agent's status page in a real browser: sign-in with the token, the figures, the buttons."""

from pathlib import Path
from typing import Any

from tests.agent.conftest import AgentFactory
from tests.conftest import PHONE


async def test_given_a_token_the_page_asks_for_it_then_shows_the_agent(
    make_agent: AgentFactory, browser: Any, artifacts_dir: Path
) -> None:
    agent = await make_agent(agent={"token": "shop-secret-42"})
    auth = {"Authorization": "Bearer shop-secret-42"}
    await agent.post("/v1/orders", json={"order_id": "S-1", "total": "20"}, headers=auth)
    await agent.post("/v1/orders", json={"order_id": "S-2", "total": "5"}, headers=auth)
    base = str(agent.make_url("/"))
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    resp = await page.goto(base)
    assert resp.status == 401
    await page.fill("#token", "wrong")
    await page.click("button[type=submit]")
    assert await page.is_visible("text=That token is not right")
    await page.fill("#token", "shop-secret-42")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#orders")
    text = await page.inner_text("main")
    assert "S-1" in text and "S-2" in text
    assert "Waiting to sync" in text and await page.inner_text("#pending") == "2"
    assert "None configured" in await page.inner_text("#scanners")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # nothing spills sideways on a phone
    await page.screenshot(path=str(artifacts_dir / "agent-status-phone.png"), full_page=True)
    # The cookie never holds the token itself.
    cookies = await context.cookies()
    assert cookies and all("shop-secret-42" not in c["value"] for c in cookies)
    assert all(c["sameSite"] == "Strict" and c["httpOnly"] for c in cookies)
    await context.close()


async def test_on_loopback_without_token_the_page_is_open(
    agent: Any, browser: Any, artifacts_dir: Path
) -> None:
    await agent.post("/v1/orders", json={"order_id": "L-1", "total": "30"})
    page = await browser.new_page(viewport={"width": 1200, "height": 800})
    resp = await page.goto(str(agent.make_url("/")))
    assert resp.status == 200
    assert "L-1" in await page.inner_text("#orders")
    assert "disabled" in await page.inner_text("#printer")
    await page.screenshot(path=str(artifacts_dir / "agent-status-desktop.png"), full_page=True)
    await page.close()
