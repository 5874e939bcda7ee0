"""Fixtures for the agent's own tests: a real agent app on a real port over a real SQLite file."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.http.app import build_app
from config import AgentSettings, load_agent_settings

SECRET = "test-device-secret-0123456789abcdef"
DEVICE_KEY = "sk_7_testkey"


def agent_settings(data_dir: Path, **sections: Any) -> AgentSettings:
    """Settings for a test agent: data in ``data_dir``, no printer, no cloud link.

    A dict section is merged over those defaults; a list (``scanner=[...]``) is taken as is.
    """
    overrides: dict[str, Any] = {
        "agent": {"data_dir": str(data_dir)},
        "cloud": {"device_secret": SECRET, "device_key": DEVICE_KEY, "url": ""},
    }
    for name, values in sections.items():
        if isinstance(values, dict):
            overrides.setdefault(name, {}).update(values)
        else:
            overrides[name] = values
    return load_agent_settings(None, overrides)


AgentFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@asynccontextmanager
async def running_agents(
    settings_for: Callable[..., AgentSettings],
) -> AsyncIterator[AgentFactory]:
    """Start agents over real HTTP (``settings_for(**sections)`` each); all closed at the end."""
    clients: list[TestClient[Any, Any]] = []

    async def start(
        clock: Callable[[], datetime] | None = None, **sections: Any
    ) -> TestClient[Any, Any]:
        settings = settings_for(**sections)
        app = build_app(settings, clock=clock) if clock else build_app(settings)
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    try:
        yield start
    finally:
        for c in clients:
            await c.close()


@pytest.fixture
async def make_agent(tmp_data: Path) -> AsyncIterator[AgentFactory]:
    """Start agents over real HTTP; each call may override settings sections."""
    async with running_agents(partial(agent_settings, tmp_data)) as start:
        yield start


@pytest.fixture
async def agent(make_agent: AgentFactory) -> TestClient[Any, Any]:
    """An agent in receipt-QR mode with the default by_amount program (1 per EUR 10)."""
    return await make_agent()
