"""Chromium: a receipt claimed on a phone, an email given, the mailed link opened in a fresh
browser (another phone): the same card, with the offers form; every page passes the checks
and is looked at at 320 px and 1280 px."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sync.cloud.store import open_store
from sync.contract import claim_token
from tests.clock import Clock
from tests.conftest import PHONE
from tests.pages.a11y import check_accessibility
from tests.pages.camera import axe_violations
from tests.sync.cloud.mail_sink import SmtpSink, link_in, mail_cloud, smtp

__all__ = ["smtp"]


async def _checked(page: Any) -> None:
    """The project's checks (contrast, names, no sideways scroll) and axe-core's."""
    await check_accessibility(page)
    assert await axe_violations(page) == []


@pytest.fixture
async def cloud(tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[tuple[TestClient[Any, Any],
                                                                      dict[str, Any]]]:  # fmt: skip
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    http, link = await mail_cloud(store, Clock(), smtp.port)
    try:
        yield http, link
    finally:
        await http.close()
        await store.close()


async def test_claim_then_email_then_the_link_in_a_fresh_browser_opens_the_same_card(
    cloud: Any, smtp: SmtpSink, browser: Any, artifacts_dir: Path
) -> None:
    http, link = cloud
    clock = Clock()
    token, _ = claim_token.mint(
        secret=link["device_secret"], device_id=link["device_id"], order_id="BR-1", stamps=2,
        now=clock.now, ttl_hours=24,
    )  # fmt: skip
    base = str(http.make_url("")).rstrip("/")
    phone = await browser.new_context(**PHONE, bypass_csp=True)  # axe-core is injected
    page = await phone.new_page()
    await page.goto(f"{base}/c/{token}")
    assert await page.locator("#email-address").count() == 1  # "I have a card already"
    await page.click("#claim")
    await page.wait_for_selector("#added")
    await _checked(page)
    await page.goto(f"{base}/card")
    code = (await page.inner_text("#card-code")).strip()
    await _checked(page)
    await page.screenshot(path=str(artifacts_dir / "identity-1-card-320.png"), full_page=True)
    await page.fill("#email-address", "jo@example.com")
    await page.click("#send-link")
    await page.wait_for_selector("#link-sent")
    await _checked(page)
    [msg] = await smtp.sink.wait_for(1)
    path = link_in(msg)

    other = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    second = await other.new_page()
    await second.goto(base + path)
    await _checked(second)
    await second.screenshot(path=str(artifacts_dir / "identity-2-sign-in-1280.png"))
    await second.click("#continue")
    await second.wait_for_selector("#card-code")
    assert (await second.inner_text("#card-code")).strip() == code
    assert "jo@example.com" in await second.inner_text("#verified-email")
    await second.check("#consent-email")
    await second.click("#save-consent")
    await second.wait_for_selector("#consent-email:checked")
    await _checked(second)
    await second.screenshot(path=str(artifacts_dir / "identity-3-card-1280.png"), full_page=True)
    narrow = await browser.new_context(viewport={"width": 320, "height": 700}, bypass_csp=True)
    await narrow.add_cookies(await other.cookies())
    small = await narrow.new_page()
    await small.goto(f"{base}/card")
    await _checked(small)
    await small.screenshot(path=str(artifacts_dir / "identity-4-card-320.png"), full_page=True)
    again = await second.goto(base + path)
    assert again is not None and again.status == 409
    for ctx in (phone, other, narrow):
        await ctx.close()
