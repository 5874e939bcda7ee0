"""Fixtures for the sync tests: a real outbox file, a stand-in cloud on a real port, helpers."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from sync.contract.events import OrderPayload
from sync.edge.client import CloudClient
from sync.edge.outbox import NewEvent, Outbox
from tests.agent_db import open_box
from tests.sync.edge.stand_in_cloud import DEVICE_KEY, StandInCloud


def order_event(order_id: str, total: str = "12.50") -> NewEvent:
    """An ``order.recorded`` event for ``order_id``."""
    payload = OrderPayload(
        order_id=order_id, total=Decimal(total), currency="EUR", stamps=1, rule="per_order"
    )
    return NewEvent(
        event_id=uuid.uuid4(),
        type="order.recorded",
        payload=payload.model_dump(mode="json", exclude_none=True),
        device_time=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )


async def wait_until(cond: Callable[[], Awaitable[bool] | bool], guard_s: float = 20.0) -> None:
    """Poll ``cond`` until it holds; ``guard_s`` only stops a broken test from hanging."""
    loop = asyncio.get_running_loop()
    end = loop.time() + guard_s
    while True:
        got = cond()
        if not isinstance(got, bool):
            got = await got
        if got:
            return
        if loop.time() > end:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.01)


@pytest.fixture
async def outbox(tmp_data: Path) -> AsyncIterator[Outbox]:
    """A real outbox file with the agent's tables."""
    box = await open_box(tmp_data / "agent.db")
    yield box
    await box.close()


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandInCloud, str]]:
    """A stand-in cloud listening on a real port, and its URL."""
    cloud = StandInCloud()
    server = TestServer(cloud.app())
    await server.start_server()
    yield cloud, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def client(stand_in: tuple[StandInCloud, str]) -> AsyncIterator[CloudClient]:
    """A cloud client for the stand-in cloud with a short timeout."""
    c = CloudClient(stand_in[1], DEVICE_KEY, timeout_s=2.0)
    yield c
    await c.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item (the e2e fixtures print logs on failure)."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep
