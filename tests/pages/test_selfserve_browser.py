"""Chromium: a phone whose card's email is verified downloads its data and erases its card from
the card page; the page with the forms, the refusal of an unticked erase (the browser's own
required box) and the confirmation pass the checks at 320 px and 1280 px."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sync.cloud.store import open_store
from sync.contract import claim_token
from tests.clock import Clock
from tests.pages.a11y import check_accessibility
from tests.pages.camera import axe_violations
from tests.sync.cloud.mail_sink import SmtpSink, link_in, mail_cloud, smtp

__all__ = ["smtp"]


async def _checked(page: Any) -> None:
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


async def test_verified_card_downloads_its_data_then_erases_itself_in_chromium(
    cloud: Any, smtp: SmtpSink, browser: Any, artifacts_dir: Path
) -> None:
    """Given a claimed card whose email was verified by the mailed link, when the customer
    presses "Download my data", then Chromium saves my-stamp-card.json with their email; when
    they press erase without ticking, then nothing is sent; ticked, then the confirmation page
    shows and the phone's /card has no card any more."""
    http, link = cloud
    token, _ = claim_token.mint(
        secret=link["device_secret"], device_id=link["device_id"], order_id="SB-1", stamps=2,
        now=Clock().now, ttl_hours=24,
    )  # fmt: skip
    base = str(http.make_url("")).rstrip("/")
    ctx = await browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True, accept_downloads=True
    )
    page = await ctx.new_page()
    await page.goto(f"{base}/c/{token}")
    await page.click("#claim")
    await page.wait_for_selector("#added")
    await page.goto(f"{base}/card")
    assert await page.locator("#my-data").count() == 0  # no verified email yet
    await page.fill("#email-address", "eve.selfserve@example.com")
    await page.click("#send-link")
    await page.wait_for_selector("#link-sent")
    [msg] = await smtp.sink.wait_for(1)
    await page.goto(base + link_in(msg))
    await page.click("#continue")
    await page.wait_for_selector("#my-data")
    await _checked(page)
    await page.locator("#my-data").screenshot(path=str(artifacts_dir / "selfserve-1-1280.png"))

    async with page.expect_download() as info:
        await page.click("#export")
    download = await info.value
    assert download.suggested_filename == "my-stamp-card.json"
    saved = await download.path()
    assert b"eve.selfserve@example.com" in await asyncio.to_thread(Path(saved).read_bytes)

    narrow = await browser.new_context(viewport={"width": 320, "height": 700}, bypass_csp=True)
    await narrow.add_cookies(await ctx.cookies())
    small = await narrow.new_page()
    await small.goto(f"{base}/card")
    await _checked(small)
    await small.screenshot(path=str(artifacts_dir / "selfserve-2-card-320.png"), full_page=True)

    await page.click("#erase")  # the box is required: the browser does not send the form
    assert await page.locator("#erased").count() == 0
    await page.check("#erase-confirm")
    await page.click("#erase")
    await page.wait_for_selector("#erased")
    await _checked(page)
    await page.screenshot(path=str(artifacts_dir / "selfserve-3-erased-1280.png"))
    await small.reload()
    await _checked(small)
    await small.screenshot(path=str(artifacts_dir / "selfserve-4-after-320.png"))
    after = await page.goto(f"{base}/card")
    assert after is not None and after.status == 404
    for c in (ctx, narrow):
        await c.close()
