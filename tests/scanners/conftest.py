"""Fixtures for the scanner tests: real agents over real HTTP and SQLite, a hand-moved clock,
and serial scanners on real ptys."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.app import build_app
from agent.scanning import SCANNING, ScanService
from agent.state import OUTBOX
from config import AgentSettings, load_agent_settings
from tests.fakes.scanner import PtyScanner

SECRET = "scanner-test-device-secret-0123456789"
DEVICE_KEY = "sk_9_scannertest"
Client = TestClient[Any, Any]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def scanner_settings(data_dir: Path, **sections: Any) -> AgentSettings:
    """Agent settings over ``data_dir``; ``scanner=[...]`` adds ``[[scanner]]`` entries."""
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


AgentFactory = Callable[..., Awaitable[Client]]


SLOW_CALLBACK_S = 0.5  # far above scheduling noise on a loaded CI box, below a blocking device call


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        # The test's own coroutine may do slow work (decoding an image); only the product's
        # callbacks count.
        if " took " in msg and "coro=<test_" not in msg:
            self.seen.append(record.getMessage())


@pytest.fixture
async def make_agent(tmp_data: Path) -> AsyncIterator[AgentFactory]:
    """Start agents (on the same data directory); keyword sections override settings.

    The loop runs in debug mode: a callback that holds it longer than ``SLOW_CALLBACK_S``
    (a blocking call) fails the test.
    """
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_S
    watch = _SlowCallbacks()
    logging.getLogger("asyncio").addHandler(watch)
    clients: list[Client] = []

    async def start(clock: Callable[[], datetime] | None = None, **sections: Any) -> Client:
        settings = scanner_settings(tmp_data, **sections)
        app = build_app(settings, clock=clock) if clock else build_app(settings)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for c in clients:
        await c.close()
    loop.set_debug(False)
    logging.getLogger("asyncio").removeHandler(watch)
    assert not watch.seen, f"the event loop was blocked: {watch.seen}"


@pytest.fixture
def pty_scanner(tmp_path: Path) -> Iterator[PtyScanner]:
    """A serial scanner at ``tmp_path/ttyScanner`` (a symlink to a pty)."""
    scanner = PtyScanner(tmp_path / "ttyScanner")
    yield scanner
    scanner.close()


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
