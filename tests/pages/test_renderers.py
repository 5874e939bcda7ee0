"""The cloud's page renderers on their own: plain words, escaping, and the basics in Chromium."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sync.cloud.ui.card_page import CardView, VoucherView, render_card
from sync.cloud.ui.claim_page import ClaimView, RewardView, render_claim_done, render_claim_problem
from sync.cloud.ui.dashboard import DashboardView, DayFigures, render_dashboard
from sync.cloud.ui.texts import TEXTS, placeholders, t
from tests.pages.a11y import check_accessibility
from tests.pages.camera import axe_violations

CLAIM = ClaimView(
    stamps_added=2,
    balance=7,
    goal=10,
    card_url="/card/abc",
    business="Cafe <Blue> & Co",
)
VOUCHER = RewardView(
    kind="voucher", name="Free coffee", code="V7K2-9QX4", valid_until=date(2026, 12, 31)
)


def test_texts_live_in_one_table_and_fill_their_placeholders() -> None:
    assert placeholders("claim.progress") == {"balance", "goal"}
    assert t("claim.progress", balance=7, goal=10) == "7 of 10 stamps"
    assert t("claim.progress", "xx", balance=1, goal=2) == "1 of 2 stamps"  # falls back
    assert all(isinstance(v, str) and v for v in TEXTS["en"].values())


def test_everything_the_customer_gave_is_escaped() -> None:
    html = render_claim_done(CLAIM)
    assert "Cafe &lt;Blue&gt; &amp; Co" in html and "<Blue>" not in html
    assert "2 stamps added" in html and "7 of 10 stamps" in html and "3 more stamps" in html


@pytest.mark.parametrize("width", [320, 360])
async def test_claim_pages_pass_the_basics_on_a_small_phone(
    browser: Any, artifacts_dir: Path, width: int
) -> None:
    page = await browser.new_page(viewport={"width": width, "height": 700})
    await page.set_content(render_claim_done(CLAIM.model_copy(update={"rewards": [VOUCHER]})))
    await check_accessibility(page)
    assert await page.inner_text("#voucher-code") == "V7K2-9QX4"
    assert await page.locator(".stamp.on").count() == 7
    assert await page.locator(".stamp.fresh").count() == 2
    await page.screenshot(path=str(artifacts_dir / f"claim-{width}.png"), full_page=True)
    for problem in ("already_claimed", "expired", "invalid", "voided"):
        await page.set_content(render_claim_problem(problem))  # type: ignore[arg-type]
        await check_accessibility(page)
        assert await page.get_attribute("#problem", "data-problem") == problem
    await page.close()


async def test_card_and_dashboard_pass_the_basics(browser: Any, artifacts_dir: Path) -> None:
    page = await browser.new_page(viewport={"width": 320, "height": 700})
    card = CardView(
        card_code="SC7K2M9QX4ABCD",
        number="123456",
        balance=3,
        goal=10,
        vouchers=[VoucherView(name="Free coffee", code="V1", state="active")],
    )
    await page.set_content(render_card(card))
    await check_accessibility(page)
    assert await page.inner_text("#card-number") == "123456"
    await page.screenshot(path=str(artifacts_dir / "card-320.png"), full_page=True)
    rows = [
        DayFigures(
            day="2026-11-20",
            branch="Main St",
            device="till-1",
            orders=10,
            stamps=14,
            claims_issued=8,
            claims_claimed=6,
            rewards_issued=1,
        ),
        DayFigures(
            day="2026-11-21",
            branch="Main St",
            device="till-2",
            orders=4,
            stamps=4,
            claims_issued=4,
            claims_claimed=1,
        ),
    ]
    await page.set_viewport_size({"width": 1200, "height": 900})
    await page.set_content(
        render_dashboard(DashboardView(business="Cafe", period="Nov", rows=rows))
    )
    await check_accessibility(page)
    assert await page.inner_text(".total-orders") == "14"
    assert await page.inner_text(".conversion") == "58%"  # CLDR's English percent
    assert await page.locator("svg.chart").count() == 2
    await page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    # on a 360 px phone, 14 days: stamps collected and QRs printed apart, tables and charts
    # are named regions a keyboard can focus and scroll; the page never scrolls sideways
    fortnight = [
        DayFigures(day=f"2026-11-{d:02}", branch="Main St", device="till-1", orders=1, stamps=1)
        for d in range(1, 13)
    ]
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.set_content(
        render_dashboard(
            DashboardView(business="Cafe", period="Nov", rows=rows + fortnight,
                          zones={"Main St": "Europe/Berlin"}, plan="Plan free: 14 of 100")
        )
    )  # fmt: skip
    await check_accessibility(page)
    assert await axe_violations(page) == []
    assert await page.inner_text(".total-stamps") == "30"
    assert await page.inner_text(".total-printed") == "12"
    assert "Europe/Berlin" in await page.inner_text(".branch")
    regions = page.locator(".scroll[tabindex='0'][role=region], .chartbox[tabindex='0']")
    assert await regions.count() == 4
    chart = page.locator(".chartbox .chart").first
    box = await chart.bounding_box()
    drawn = float((await chart.get_attribute("viewBox") or "0 0 0 0").split()[2])
    assert box is not None and box["width"] >= round(0.8 * drawn)  # labels keep their size
    await page.screenshot(path=str(artifacts_dir / "dashboard-360.png"), full_page=True)
    await page.close()
