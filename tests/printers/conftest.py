"""Fixtures for the printer tests: fake printers on a real TCP port and a real pty, real agents."""

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.agent.conftest import AgentFactory, agent_settings, running_agents
from tests.conftest import no_blocking_calls
from tests.fakes.escpos_printer import PtyFakePrinter, TcpFakePrinter

CLAIM_BASE = "http://127.0.0.1:8788/c/"


@pytest.fixture
async def printer() -> AsyncIterator[TcpFakePrinter]:
    """A fake LAN receipt printer on a free port."""
    p = await TcpFakePrinter().start()
    yield p
    await p.stop()


@pytest.fixture
async def pty_printer() -> AsyncIterator[PtyFakePrinter]:
    """A fake serial receipt printer at the far end of a pty."""
    p = PtyFakePrinter()
    yield p
    p.close()


def printer_section(fake: TcpFakePrinter, **extra: Any) -> dict[str, Any]:
    """``[printer]`` for a network printer at the fake's port; idle polling off."""
    section: dict[str, Any] = {
        "kind": "network",
        "address": fake.address,
        "profile": "TM-T20II",
        "status_poll_s": 0,
        "status_timeout_s": 0.5,
    }
    section.update(extra)
    return section


@pytest.fixture
async def make_agent(tmp_data: Path) -> AsyncIterator[AgentFactory]:
    """Start agents (same data dir each call, like a restart) over real HTTP; a blocking call
    on the event loop (a device, the profile database, QR drawing) fails the test."""
    async with no_blocking_calls(), running_agents(partial(agent_settings, tmp_data)) as start:
        yield start


async def wait_job(
    client: TestClient[Any, Any],
    job_id: str,
    until: tuple[str, ...] = ("confirmed", "failed"),
    *,
    with_reason: bool = False,
) -> dict[str, Any]:
    """Poll ``GET /v1/print/{job_id}`` until its status is one of ``until`` (and has a reason)."""

    async with asyncio.timeout(15):
        while True:
            resp = await client.get(f"/v1/print/{job_id}")
            assert resp.status == 200, await resp.text()
            job: dict[str, Any] = await resp.json()
            if job["status"] in until and (job["reason"] or not with_reason):
                return job
            await asyncio.sleep(0.02)


async def place(client: TestClient[Any, Any], order_id: str, total: str = "25.00") -> Any:
    """POST a paid check; returns the answer (asserting 201)."""
    resp = await client.post("/v1/orders", json={"order_id": order_id, "total": total})
    assert resp.status == 201, await resp.text()
    return await resp.json()
