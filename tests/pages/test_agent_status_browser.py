"""The status page in Chromium: a failed print shows with its reason and its Retry button works."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import AgentFactory
from tests.conftest import PHONE
from tests.fakes.escpos_printer import TcpFakePrinter
from tests.printers.conftest import printer_section


@pytest.fixture
async def printer() -> AsyncIterator[TcpFakePrinter]:
    """A fake network receipt printer on a free port."""
    p = await TcpFakePrinter().start()
    yield p
    await p.stop()


async def _job(agent: Any, job_id: str, want: str) -> dict[str, Any]:
    for _ in range(200):
        job: dict[str, Any] = await (await agent.get(f"/v1/print/{job_id}")).json()
        if job["status"] == want:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {want}: {job}")


async def test_given_paper_out_then_the_page_shows_the_failure_and_retry_prints(
    make_agent: AgentFactory, printer: TcpFakePrinter, browser: Any, artifacts_dir: Path
) -> None:
    agent = await make_agent(printer=printer_section(printer))
    printer.mode = "paper_out"
    order = await (
        await agent.post("/v1/orders", json={"order_id": "P-1", "total": "20", "till": "t1"})
    ).json()
    job_id = order["print"]["job_id"]
    failed = await _job(agent, job_id, "failed")
    assert failed["reason"] == "paper_out"

    page = await browser.new_page(**PHONE)
    await page.goto(str(agent.make_url("/")))
    section = page.locator("#printer")
    assert "paper out" in await section.inner_text()  # the state in words
    await page.screenshot(path=str(artifacts_dir / "agent-status-print-failed.png"), full_page=True)

    printer.mode = "ok"  # paper reloaded
    await section.get_by_role("button", name="Retry").first.click()
    await _job(agent, job_id, "confirmed")
    receipts = await printer.wait_receipts(1)
    assert receipts[-1].qr_payloads == [order["claim"]["url"]]
    await page.wait_for_load_state()
    await page.reload()
    assert "printed" in await page.locator("#printer").inner_text()
    await page.close()
