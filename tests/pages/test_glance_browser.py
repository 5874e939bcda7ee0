"""Issue #21, "clear at a glance", in Chromium at 320 px and 1280 px: the claim page says what
happened (a filled card drawn full, then the new one; a voucher's code as QR and text; a gift
with what to do at the counter), the card page names the shop, and each page passes axe-core
without a serious or critical finding. Screenshots go to ``tests/artifacts/glance-*``."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sync.cloud.store import open_store
from tests.conftest import Clock
from tests.pages.a11y import check_accessibility, lines_on_screen
from tests.pages.camera import axe_violations
from tests.sync.cloud.conftest import Cloud, qr_issued, start_cloud

WIDTHS = [320, 1280]


@pytest.fixture
async def shop(tmp_path: Path, clock: Clock) -> AsyncIterator[Cloud]:
    """A cloud on SQLite over real HTTP: business "Corner Cafe", per order, goal 10."""
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    http, link = await start_cloud(store, clock, business="Corner Cafe")
    try:
        yield Cloud(http, store, clock, link, rng=None)  # type: ignore[arg-type]
    finally:
        await http.close()
        await store.close()


@pytest.fixture(params=WIDTHS)
async def phone(request: pytest.FixtureRequest, browser: Any) -> AsyncIterator[Any]:
    """A page in a fresh browser (its own cookies) at the parametrised width."""
    width: int = request.param
    ctx = await browser.new_context(
        viewport={"width": width, "height": 800},
        bypass_csp=True,  # to inject axe
    )
    page = await ctx.new_page()
    page.width = width
    try:
        yield page
    finally:
        await ctx.close()


async def _clean(page: Any, label: str, artifacts_dir: Path) -> None:
    """No serious or critical axe finding, the basics hold, and a screenshot to look at."""
    assert await axe_violations(page) == [], label
    await check_accessibility(page)
    await page.screenshot(
        path=str(artifacts_dir / f"glance-{label}-{page.width}.png"), full_page=True
    )


async def _claim(shop: Cloud, page: Any, order_id: str, stamps: int) -> None:
    """A receipt QR of ``stamps`` opened on the phone and claimed with its button."""
    await shop.post_events([qr_issued(order_id, stamps, shop.clock.now + timedelta(days=1))])
    url = shop.http.make_url(f"/C/{shop.token(order_id, stamps)}")
    offer = await page.goto(str(url))
    assert offer.status == 200
    assert await page.inner_text("#shop") == "Corner Cafe"
    await page.get_by_role("button", name="Collect my stamps").click()
    await page.wait_for_selector("#added")


async def test_given_a_claim_that_fills_the_card_then_the_page_shows_it_full_then_the_new_card(
    shop: Cloud, phone: Any, artifacts_dir: Path
) -> None:
    """Given a phone with 8 of 10 stamps, when it claims a receipt of 6, then the page shows
    the filled card (10 of 10, its 2 new stamps highlighted), the gift with its code and what to
    do at the counter, then the new card with the 4 stamps carried over; a refresh does not
    claim again and offers the card."""
    await _claim(shop, phone, "G-1", 8)
    assert await phone.inner_text("#balance") == "8 of 10 stamps"
    assert await phone.locator("#completed").count() == 0
    await _clean(phone, "claim", artifacts_dir)

    await _claim(shop, phone, "G-2", 6)
    assert await phone.inner_text("#added") == "6 stamps added to your card"
    done = phone.locator("#completed")
    assert await done.locator("h2").inner_text() == "Card complete: 10 of 10 stamps"
    assert await done.locator(".stamp.on").count() == 10
    assert await done.locator(".stamp.fresh").count() == 2
    gift = phone.locator("#reward[data-kind=gift]")
    assert "Show this screen at the counter" in await gift.inner_text()
    card = (await shop.store.card(await _card_code(phone), shop.clock.now, None)).rewards
    assert await phone.inner_text("#gift-code") == card[0].code
    assert await gift.locator("svg[role=img]").count() == 1  # the code as a QR too
    new = phone.locator("#progress")
    assert await new.locator("h2").inner_text() == "Your new card"
    assert await new.locator(".stamp.on").count() == 4
    assert await phone.inner_text("#balance") == "4 of 10 stamps"
    assert await phone.inner_text("#carried") == "4 stamps carried over to your new card"
    # the filled card comes first, the new one after it
    order = await phone.evaluate(
        "[...document.querySelectorAll('#completed, #reward, #progress')].map(e => e.id)"
    )
    assert order == ["completed", "reward", "progress"]
    await _clean(phone, "claim-completed", artifacts_dir)

    again = await phone.reload()
    assert again.status == 409 and await phone.inner_text("#shop") == "Corner Cafe"
    assert await phone.get_attribute("a.btn", "href") == "/card"
    assert (await shop.store.card(await _card_code(phone), shop.clock.now, None)).balance == 4

    await phone.get_by_role("link", name="Show my card").click()
    await phone.wait_for_selector("#card-code")
    assert await phone.inner_text("#shop") == "Corner Cafe"
    assert await phone.inner_text("#balance") == "4 of 10 stamps"
    gift_row = phone.locator("#vouchers tbody tr").first
    assert await gift_row.locator("code").inner_text() == card[0].code
    assert await lines_on_screen(gift_row.locator("td").nth(1)) == 1  # never broken mid-code
    await _clean(phone, "card", artifacts_dir)


async def test_given_a_voucher_program_when_a_claim_reaches_the_goal_then_code_and_qr_show(
    shop: Cloud, phone: Any, artifacts_dir: Path
) -> None:
    """Given a voucher program, when a receipt of 10 fills a card, then the page shows the
    voucher's redeem code as text and as a QR, and the new card is empty (nothing carried)."""
    await shop.set_program(
        rule="per_order", stamps_per_order=1, goal=10, step="10", currency="EUR",
        reward="voucher", reward_name="Free coffee",
    )  # fmt: skip
    await _claim(shop, phone, "V-1", 10)
    assert await phone.locator("#completed .stamp.on").count() == 10
    voucher = phone.locator("#reward")
    assert "Your voucher: Free coffee" in await voucher.inner_text()
    code = await phone.inner_text("#voucher-code")
    assert len(code) >= 8 and await voucher.locator("svg[role=img]").count() == 1
    assert await phone.inner_text("#balance") == "0 of 10 stamps"
    assert await phone.locator("#carried").count() == 0
    await _clean(phone, "claim-voucher", artifacts_dir)


async def test_given_a_receipt_worth_many_cards_then_the_page_stays_small(
    shop: Cloud, phone: Any, artifacts_dir: Path
) -> None:
    """Given a receipt worth 35 stamps on a goal of 10, when claimed, then one full card is
    drawn with "This receipt filled 3 cards." and the new card shows the 5 left over."""
    await _claim(shop, phone, "M-1", 35)
    assert await phone.locator("#completed .stamp").count() == 10
    assert await phone.inner_text("#cards-filled") == "This receipt filled 3 cards."
    assert await phone.inner_text("#balance") == "5 of 10 stamps"
    assert await phone.locator("#reward").count() == 3
    await _clean(phone, "claim-many", artifacts_dir)


async def _card_code(page: Any) -> str:
    cookies = await page.context.cookies()
    value = next(c["value"] for c in cookies if c["name"] == "stampedge_card")
    return str(value).partition(".")[0]
