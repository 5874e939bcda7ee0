"""Fixtures for the agent's scan service: real agents over real HTTP and SQLite with a scanner
device key, and helpers reading their outbox, scans table and metrics (the hand-moved clock is
``tests.clock.Clock``)."""

import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agent.http.state import OUTBOX
from agent.scans.routes import SCANNING, ScanService
from config import AgentSettings
from tests.agent.conftest import AgentFactory, agent_settings, running_agents
from tests.conftest import no_blocking_calls

SECRET = "scanner-test-device-secret-0123456789"
DEVICE_KEY = "sk_9_scannertest"
Client = TestClient[Any, Any]


def scanner_settings(data_dir: Path, **sections: Any) -> AgentSettings:
    """Agent settings over ``data_dir`` with this suite's device; ``scanner=[...]`` adds
    ``[[scanner]]`` entries."""
    cloud = {"device_secret": SECRET, "device_key": DEVICE_KEY, **sections.pop("cloud", {})}
    return agent_settings(data_dir, cloud=cloud, **sections)


@pytest.fixture
async def make_agent(tmp_data: Path) -> AsyncIterator[AgentFactory]:
    """Start agents (on the same data directory); keyword sections override settings. A
    blocking call on the event loop fails the test."""
    async with no_blocking_calls(), running_agents(partial(scanner_settings, tmp_data)) as start:
        yield start


def service(client: Client) -> ScanService:
    """The running scan service of an agent."""
    svc = client.app[SCANNING].service
    assert svc is not None
    return svc


async def events(client: Client, type_: str | None = None) -> list[dict[str, Any]]:
    """The outbox's events (type and payload), oldest first."""
    rows = await client.app[OUTBOX].fetchall("SELECT type, payload FROM outbox ORDER BY seq")
    out = [{"type": r["type"], "payload": json.loads(r["payload"])} for r in rows]
    return [e for e in out if type_ is None or e["type"] == type_]


async def scan_rows(client: Client) -> list[dict[str, Any]]:
    """The scans table after the recorder has written what it holds."""
    await service(client).recorder.flush()
    rows = await client.app[OUTBOX].fetchall("SELECT * FROM scans ORDER BY created_at, rowid")
    return [dict(r) for r in rows]


async def metric(client: Client, name: str, **labels: str) -> float:
    """One sample of the agent's ``/metrics``, read over HTTP (0 if absent)."""
    text = await (await client.get("/metrics")).text()
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
