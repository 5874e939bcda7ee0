"""Receipts say whose they are: the shop's name (sent by the cloud with the program) over the
config's ``[printer] header``; the self-test prints the agent's address under its QR, read back
from the fake printer's bytes."""

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from agent.http.state import PROGRAM
from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from tests.fakes.escpos_printer import TcpFakePrinter
from tests.printers.conftest import AgentFactory, place, printer_section, wait_job


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def test_given_a_self_test_print_then_the_line_under_the_qr_is_the_agents_address(
    make_agent: AgentFactory, printer: TcpFakePrinter
) -> None:
    """Given the status page's test print, when it prints, then the text under the QR reads
    ``127.0.0.1:8787`` (it printed ``.1:2-8787``, a claim short code cut out of the URL)."""
    client = await make_agent(printer=printer_section(printer))
    job = await (await client.post("/v1/print/test")).json()
    assert (await wait_job(client, job["job_id"]))["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert receipt.qr_payloads == ["HTTP://127.0.0.1:8787/"]
    assert _lines(receipt.text)[-1] == "127.0.0.1:8787"
    assert "-8787" not in receipt.text


async def test_given_a_cloud_link_then_receipts_name_the_shop_and_times_are_the_branchs(
    make_agent: AgentFactory, printer: TcpFakePrinter, tmp_path: Path
) -> None:
    """Given an agent synced to its business "Corner Cafe" in Warsaw and ``[printer] header``
    set, when a check prints, then the receipt reads the shop's name, then the header, then the
    order; and the status page shows times in Warsaw's zone (the agent's config says UTC)."""
    store = await open_store(f"sqlite:///{tmp_path / 'cloud.db'}")
    link = await init_business(
        store, business="Corner Cafe", branch="Main Street", rule="by_amount",
        step=Decimal("10"), goal=10, timezone="Europe/Warsaw",
    )  # fmt: skip
    settings = load_cloud_settings(None, {"cloud": {"database": "sqlite:///unused.db"}})
    cloud: TestClient[Any, Any] = TestClient(TestServer(build_cloud_app(settings, store=store)))
    await cloud.start_server()
    try:
        base = str(cloud.make_url("")).rstrip("/")
        client = await make_agent(
            printer=printer_section(printer, header="Main Street 5\nOpen 8-18"),
            cloud={"url": base, "device_key": link["device_key"],
                   "device_secret": link["device_secret"], "claim_base_url": base + "/C/"},
        )  # fmt: skip
        program = client.server.app[PROGRAM]
        for _ in range(400):  # the state pull runs at start
            if program.shop:
                break
            await asyncio.sleep(0.05)
        assert program.shop == "Corner Cafe"
        answer = await place(client, "H-1")
        assert (await wait_job(client, answer["print"]["job_id"]))["status"] == "confirmed"
        [receipt] = await printer.wait_receipts(1)
        lines = _lines(receipt.text)
        assert lines[:4] == ["Corner Cafe", "Main Street 5", "Open 8-18", "Order H-1"]
        status = await (await client.get("/")).text()
        assert "At (Europe/Warsaw)" in status and "(UTC)" not in status
    finally:
        await cloud.close()
        await store.close()
