"""The owner's back office end to end in Chromium: sign in, change the program (and the till's
sync state shows it), make a staff key and revoke it, make 30 delivery inserts, download their
PDF, read every QR from the rendered pages, claim one on a phone (twice: already claimed) and
one after it expired. axe-core finds nothing serious or critical on any page."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store, open_store
from tests.clock import Clock
from tests.conftest import PHONE, free_port
from tests.pages.a11y import check_accessibility
from tests.pages.camera import axe_violations
from tests.sync.cloud.pdf_codes import qr_texts


@dataclass
class Shop:
    """A cloud on a real port with one business, and the clock it runs on."""

    http: TestClient[Any, Any]
    link: dict[str, Any]
    clock: Clock
    store: Store

    def url(self, path: str) -> str:
        return str(self.http.make_url(path))


@pytest.fixture
async def shop(tmp_path: Path, clock: Clock) -> AsyncIterator[Shop]:
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    link = await init_business(
        store, business="Corner Cafe", branch="Main Street", rule="by_amount",
        step=Decimal("10"), goal=10, timezone="Europe/Berlin", now=clock.now,
    )  # fmt: skip
    port = free_port()
    settings = load_cloud_settings(None, {"cloud": {"public_url": f"http://127.0.0.1:{port}"}})
    app = build_cloud_app(settings, store=store, clock=clock)
    http: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await http.start_server()
    try:
        yield Shop(http, link, clock, store)
    finally:
        await http.close()
        await store.close()


async def _clean(page: Any, label: str) -> None:
    assert await axe_violations(page) == [], label
    await check_accessibility(page)


async def _sync_state(shop: Shop, key: str) -> tuple[int, Any]:
    resp = await shop.http.get("/v1/sync/state", headers={"Authorization": f"Bearer {key}"})
    return resp.status, (await resp.json())


async def test_the_owner_sets_up_the_shop_alone_on_a_sunday_evening(
    shop: Shop, browser: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    bid = shop.link["branch_id"]
    owner = await browser.new_page(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, bypass_csp=True
    )
    # signed out: the back office sends the owner to sign in
    assert (await owner.goto(shop.url("/backoffice"))).status == 401
    await owner.goto(shop.url("/dashboard"))
    await owner.fill("#key", shop.link["admin_key"])
    await owner.click("button[type=submit]")
    await owner.wait_for_url("**/dashboard")
    await owner.goto(shop.url("/backoffice"))
    assert "Corner Cafe" in await owner.inner_text("h1")
    await _clean(owner, "back office")

    # the program: the example before saving, a bad value refused, then saved and synced
    example = f"#example-{bid}"
    assert await owner.inner_text(example) == "A €23.50 check earns 2 stamps."  # money by locale
    await owner.fill(f"#p{bid}-step", "5")
    await owner.click(f"#program-{bid} button[value=preview]")
    assert await owner.inner_text(example) == "A €23.50 check earns 4 stamps."
    _, before = await _sync_state(shop, shop.link["device_key"])
    assert Decimal(before["program"]["step"]) == 10  # not saved yet
    await owner.fill(f"#p{bid}-goal", "0")
    await owner.click(f"#program-{bid} button[value=save]")
    assert await owner.get_attribute(f"#p{bid}-goal", "aria-invalid") == "true"
    assert await owner.is_visible(f"#p{bid}-goal-err")
    await _clean(owner, "program with an error")
    await owner.fill(f"#p{bid}-goal", "8")
    await owner.click(f"#program-{bid} button[value=save]")
    await owner.wait_for_selector(f"#program-{bid} .note")
    status, after = await _sync_state(shop, shop.link["device_key"])
    assert status == 200
    assert Decimal(after["program"]["step"]) == 5 and after["program"]["goal"] == 8
    assert after["program"]["version"] > before["program"]["version"]

    # a staff key: shown once with its QR, works, then revoked and refused
    await owner.fill("#key-label", "Anna (weekend staff)")
    await owner.click("#keys button[type=submit]:has-text('Create key')")
    key = await owner.inner_text("#new-key-text")
    assert key.startswith("sk_")
    assert await owner.locator("#new-key svg[role=img]").count() == 1
    await _clean(owner, "new key")
    assert (await _sync_state(shop, key))[0] == 200
    await owner.goto(shop.url("/backoffice"))
    assert await owner.locator("#new-key-text").count() == 0  # never shown again
    await owner.click("button[aria-label='Revoke Anna (weekend staff)']")
    await owner.wait_for_selector("#keys")
    assert "revoked" in await owner.inner_text("#keys table")
    assert (await _sync_state(shop, key))[0] == 401

    # one voucher for a customer found by name, one as a link to send, one for nobody known
    admin = {"Authorization": f"Bearer {shop.link['admin_key']}"}
    body = {"email": "ana@example.com", "name": "Ana Lima"}
    ana = await shop.http.post("/v1/customers", json=body, headers=admin)
    card_code = (await ana.json())["card_code"]
    await owner.fill("#v-customer", "Ana")
    await owner.fill("#v-title", "Birthday cake")
    await owner.click("#voucher button[type=submit]")
    assert "on the card of Ana Lima" in await owner.inner_text("#voucher-made")
    card = await (await shop.http.get(f"/v1/cards/{card_code}", headers=admin)).json()
    assert [r["name"] for r in card["rewards"]] == ["Birthday cake"]
    await owner.fill("#v-customer", "Nobody Here")
    await owner.click("#voucher button[type=submit]")
    assert "No customer matches" in await owner.inner_text("#problem")
    await owner.fill("#v-customer", "")
    await owner.click("#voucher button[type=submit]")
    link = await owner.get_attribute("#voucher-link", "href")
    assert link is not None and link.startswith(shop.url("/I/"))
    await _clean(owner, "voucher link")

    # 30 delivery inserts worth 2 stamps, valid 7 days; the PDF downloaded and every QR read
    await owner.fill("#b-count", "30")
    await owner.fill("#b-stamps", "2")
    await owner.fill("#b-title", "Thanks for ordering!")
    await owner.fill("#b-days", "7")
    await owner.click("#batches button[type=submit]")
    made = await owner.inner_text("#batch-made")
    assert "30 codes" in made
    batch_id = int(made.split()[1])
    await _clean(owner, "batches")
    await owner.screenshot(path=str(artifacts_dir / "backoffice.png"), full_page=True)
    async with owner.expect_download() as info:
        await owner.click(f"#pdf-{batch_id}")
    download = await info.value
    pdf = Path(await download.path()).read_bytes()
    urls = await asyncio.to_thread(qr_texts, pdf, tmp_path / "pages")
    assert len(urls) == 30 and len(set(urls)) == 30
    assert all(u.startswith(shop.url("/I/")) for u in urls)
    await owner.goto(shop.url("/backoffice"))
    assert "30" in await owner.inner_text(f"tr[data-batch='{batch_id}'] td:nth-child(5)")

    # a phone claims the first insert, then tries it again
    phone_ctx = await browser.new_context(**PHONE, bypass_csp=True)  # to inject axe
    phone = await phone_ctx.new_page()
    await phone.goto(urls[0])
    await _clean(phone, "insert offer")
    await phone.click("#claim")
    await phone.wait_for_selector("#added")
    assert await phone.inner_text("#added") == "2 stamps added to your card"
    assert "Corner Cafe" in await phone.inner_text("h1")
    await _clean(phone, "insert claimed")
    again = await phone.goto(urls[0])
    assert again.status == 409
    assert await phone.get_attribute("#problem", "data-problem") == "already_claimed"
    await _clean(phone, "already claimed")
    # eight days later another insert has expired
    shop.clock.advance(days=8)
    late = await phone.goto(urls[1])
    assert late.status == 410
    assert await phone.get_attribute("#problem", "data-problem") == "expired"
    await phone_ctx.close()

    # a week on, the owner's session (a working day) has ended: signed in again
    assert (await owner.goto(shop.url("/backoffice"))).status == 401
    await owner.goto(shop.url("/dashboard"))
    await owner.fill("#key", shop.link["admin_key"])
    await owner.click("button[type=submit]")
    await owner.wait_for_url("**/dashboard")
    await owner.goto(shop.url("/backoffice"))
    row = owner.locator(f"tr[data-batch='{batch_id}']")
    assert await row.locator("td:nth-child(6)").inner_text() == "1"  # claimed
    assert await row.locator("td:nth-child(8)").inner_text() == "3%"  # CLDR English percent
    # signing out forgets the session
    await owner.click("nav button[type=submit]")
    assert (await owner.goto(shop.url("/backoffice"))).status == 401
    await owner.close()
