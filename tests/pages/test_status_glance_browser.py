"""Issue #21: the agent's status page read by a person, in Chromium at 320 px and 1280 px:
times in the branch's zone, no meta refresh but a Refresh button, tables in labelled focusable
scroll regions with named columns and order ids on one line; the status and dashboard pages
pass axe-core without a serious or critical finding. Screenshots: ``tests/artifacts/``."""

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from sync.cloud.ui.dashboard import DashboardView, DayFigures, render_dashboard
from tests.agent.conftest import AgentFactory
from tests.fakes.escpos_printer import TcpFakePrinter
from tests.pages.a11y import check_accessibility, lines_on_screen
from tests.pages.camera import axe_violations
from tests.printers.conftest import printer_section, wait_job


@pytest.fixture
async def printer() -> AsyncIterator[TcpFakePrinter]:
    """A fake network receipt printer on a free port."""
    p = await TcpFakePrinter().start()
    yield p
    await p.stop()


LONG_ID = "POS-2026-12-07-000123456789"


@pytest.mark.parametrize("width", [320, 1280])
async def test_given_checks_and_a_failed_print_then_the_status_page_reads_well(
    make_agent: AgentFactory,
    printer: TcpFakePrinter,
    browser: Any,
    artifacts_dir: Path,
    width: int,
) -> None:
    """Given a Berlin branch with a long check id and a print that failed for paper, when the
    owner opens the status page, then times are Berlin's, every column has a name, each table
    is a labelled region the keyboard can focus, the id is on one line, axe finds nothing
    serious, and Refresh (not a meta refresh) shows a newer check."""
    agent = await make_agent(
        agent={"branch_timezone": "Europe/Berlin"}, printer=printer_section(printer)
    )
    printer.mode = "paper_out"
    resp = await agent.post("/v1/orders", json={"order_id": LONG_ID, "total": "20", "till": "t1"})
    order = await resp.json()
    await wait_job(agent, order["print"]["job_id"], ("failed",))

    ctx = await browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = await ctx.new_page()
    await page.goto(str(agent.make_url("/")))
    assert await page.locator("meta[http-equiv=refresh]").count() == 0
    berlin = datetime.fromisoformat(order["recorded_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    orders = page.locator("#orders")
    assert "At (Europe/Berlin)" in await orders.locator("th").all_inner_texts()
    cells = await orders.locator("tbody tr").first.locator("td").all_inner_texts()
    shown = format_datetime(berlin, "short", locale="en")  # Berlin time as CLDR English writes it
    assert cells[0] == LONG_ID and cells[-1] == shown
    assert "(Europe/Berlin)" in await page.inner_text("#updated")
    for th in await page.locator("th").all_inner_texts():
        assert th.strip(), "an empty column header"
    regions = page.locator(".scroll")
    assert await regions.count() == 2  # print jobs, recent checks
    for i in range(await regions.count()):
        region = regions.nth(i)
        assert await region.get_attribute("tabindex") == "0"
        assert await region.get_attribute("role") == "region"
        assert await region.get_attribute("aria-label")
    for cell in (orders.locator("td").first, page.locator("#printer td").nth(1)):
        assert await lines_on_screen(cell) == 1, "an order id broken over lines"
    await regions.first.focus()
    assert await page.evaluate("document.activeElement.getAttribute('role')") == "region"
    assert await axe_violations(page) == []
    await check_accessibility(page)
    await page.screenshot(path=str(artifacts_dir / f"glance-status-{width}.png"), full_page=True)

    await agent.post("/v1/orders", json={"order_id": "NEXT-2", "total": "20", "till": "t1"})
    await page.get_by_role("button", name="Refresh").click()
    await page.wait_for_selector("text=NEXT-2")
    await ctx.close()


@pytest.mark.parametrize("width", [320, 1280])
async def test_the_dashboard_passes_axe_at_both_widths(
    browser: Any, artifacts_dir: Path, width: int
) -> None:
    """Given a fortnight of figures, when the dashboard is drawn at 320 px and 1280 px, then
    axe-core finds no serious or critical violation."""
    rows = [
        DayFigures(day=f"2026-11-{d:02}", branch="Main St", device="till-1", orders=d,
                   stamps=d * 2, claims_issued=d, claims_claimed=d // 2, rewards_issued=1)
        for d in range(1, 15)
    ]  # fmt: skip
    page = await browser.new_page(viewport={"width": width, "height": 900})
    await page.set_content(
        render_dashboard(DashboardView(business="Corner Cafe", period="Nov", rows=rows,
                                       zones={"Main St": "Europe/Berlin"}, plan="Plan free"))
    )  # fmt: skip
    assert await axe_violations(page) == []
    await page.screenshot(path=str(artifacts_dir / f"glance-dashboard-{width}.png"), full_page=True)
    await page.close()
