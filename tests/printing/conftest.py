"""Fixtures for the printer tests: fake printers on a real TCP port and a real pty, real agents."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from tests.agent.conftest import agent_settings
from tests.fakes.escpos_printer import PtyFakePrinter, TcpFakePrinter

CLAIM_BASE = "http://127.0.0.1:8788/c/"
AgentFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


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


class _SlowCallbacks(logging.Handler):
    """Collects asyncio's debug-mode "Executing ... took N seconds" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        # The test's own coroutine may do slow work (decoding an image); only the product's
        # callbacks count.
        if " took " in msg and "coro=<test_" not in msg:
            self.seen.append(record.getMessage())


SLOW_CALLBACK_S = 0.5  # far above scheduling noise on a loaded CI box, below a blocking device call


@pytest.fixture
async def make_agent(tmp_data: Path) -> AsyncIterator[AgentFactory]:
    """Start agents (same data dir each call, like a restart) over real HTTP.

    The loop runs in debug mode: a callback that holds it longer than ``SLOW_CALLBACK_S``
    (a blocking call: a device, the profile database, QR drawing) fails the test.
    """
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_S
    watch = _SlowCallbacks()
    logging.getLogger("asyncio").addHandler(watch)
    clients: list[TestClient[Any, Any]] = []

    async def start(
        clock: Callable[[], datetime] | None = None, **sections: dict[str, Any]
    ) -> TestClient[Any, Any]:
        settings = agent_settings(tmp_data, **sections)
        app = build_app(settings, clock=clock) if clock else build_app(settings)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for c in clients:
        await c.close()
    loop.set_debug(False)
    logging.getLogger("asyncio").removeHandler(watch)
    assert not watch.seen, f"the event loop was blocked: {watch.seen}"


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
