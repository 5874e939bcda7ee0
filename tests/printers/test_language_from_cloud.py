"""The branch speaks the business's language as the cloud sends it (``SyncState.language``):
receipts read back from the fake printer's bytes in the page's code page, and the agent's pages;
kept across a restart while the cloud is down; ``agent.language`` in the config wins over it."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agent.http.state import PROGRAM
from tests.agent.real_cloud import RealCloud, real_cloud, synced
from tests.conftest import free_port
from tests.fakes.escpos_printer import TcpFakePrinter
from tests.printers.conftest import AgentFactory, place, printer_section, wait_job


@pytest.fixture
async def polish_cloud(tmp_path: Path) -> AsyncIterator[RealCloud]:
    """A real cloud whose business speaks Polish (``[cloud] language = "pl"``)."""
    async with real_cloud(tmp_path, business="Kawiarnia", language="pl") as cloud:
        yield cloud


async def _printed(agent: TestClient[Any, Any], printer: TcpFakePrinter, order_id: str) -> str:
    before = len(printer.complete)
    answer = await place(agent, order_id)
    assert (await wait_job(agent, answer["print"]["job_id"]))["status"] == "confirmed"
    receipts = await printer.wait_receipts(before + 1)
    assert receipts[-1].code_page != 0  # a page with Polish letters, not CP437
    return receipts[-1].text


async def test_given_a_polish_business_when_the_agent_syncs_then_receipts_and_pages_are_polish(
    make_agent: AgentFactory, printer: TcpFakePrinter, polish_cloud: RealCloud
) -> None:
    """Given a cloud whose business speaks Polish and an agent with no ``agent.language``, when
    it has synced, then a check's receipt is Polish (in a page with its letters) and its status
    and pairing pages are Polish; and restarted while the cloud is unreachable, it still speaks
    Polish."""
    agent = await make_agent(printer=printer_section(printer), cloud=polish_cloud.agent_section())
    await synced(agent)
    text = await _printed(agent, printer, "PL-1")
    assert "Zamówienie PL-1" in text and "Zeskanuj po pieczątki" in text, text
    status = await (await agent.get("/")).text()
    assert '<html lang="pl">' in status and "Agent Stampedge" in status
    kiosk = await (await agent.get("/kiosk")).text()
    assert '<html lang="pl">' in kiosk and "Sparuj to urządzenie" in kiosk
    await agent.close()

    offline = await make_agent(
        printer=printer_section(printer),
        cloud=polish_cloud.agent_section(f"http://127.0.0.1:{free_port()}"),
    )
    assert offline.server.app[PROGRAM].language == "pl"
    assert "Zamówienie PL-2" in await _printed(offline, printer, "PL-2")
    kiosk = await (await offline.get("/kiosk")).text()
    assert "Sparuj to urządzenie" in kiosk


async def test_given_agent_language_set_when_the_business_is_polish_then_german_wins(
    make_agent: AgentFactory, printer: TcpFakePrinter, polish_cloud: RealCloud
) -> None:
    """Given a Polish business and ``agent.language = "de"`` in the agent's config, when the
    agent has synced, then its receipt and pages are German."""
    agent = await make_agent(
        agent={"language": "de"},
        printer=printer_section(printer),
        cloud=polish_cloud.agent_section(),
    )
    await synced(agent)
    answer = await place(agent, "DE-1")
    assert (await wait_job(agent, answer["print"]["job_id"]))["status"] == "confirmed"
    [receipt] = await printer.wait_receipts(1)
    assert "Bestellung DE-1" in receipt.text and "Zamówienie" not in receipt.text
    kiosk = await (await agent.get("/kiosk")).text()
    assert '<html lang="de">' in kiosk and "Dieses Gerät koppeln" in kiosk
