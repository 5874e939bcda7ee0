"""A real cloud (SQLite file, real HTTP port) for agent tests, with one business, branch and
device key, and the ``[cloud]`` section an agent needs to sync with it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from agent.http.state import PROGRAM
from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import open_store


@dataclass
class RealCloud:
    """The cloud's URL and the branch's device link (``init_business``'s answer)."""

    url: str
    link: dict[str, Any]

    def agent_section(self, url: str | None = None) -> dict[str, Any]:
        """``[cloud]`` for an agent of this branch (``url``: another address, e.g. a dead one)."""
        base = url or self.url
        return {"url": base, "device_key": self.link["device_key"],
                "device_secret": self.link["device_secret"], "claim_base_url": base + "/C/",
                "max_backoff_s": 0.2}  # fmt: skip


@asynccontextmanager
async def real_cloud(
    folder: Path, *, business: str = "Corner Cafe", language: str = "en"
) -> AsyncIterator[RealCloud]:
    """A cloud whose business is ``business`` speaking ``language`` (``[cloud] language``)."""
    store = await open_store(f"sqlite:///{folder / 'cloud.db'}")
    link = await init_business(store, business=business, branch="Main", rule="per_order",
                               step=Decimal("10"), goal=10)  # fmt: skip
    settings = load_cloud_settings(
        None, {"cloud": {"database": "sqlite:///unused.db", "language": language}}
    )
    cloud: TestClient[Any, Any] = TestClient(TestServer(build_cloud_app(settings, store=store)))
    await cloud.start_server()
    try:
        yield RealCloud(str(cloud.make_url("")).rstrip("/"), link)
    finally:
        await cloud.close()
        await store.close()


async def synced(agent: TestClient[Any, Any]) -> None:
    """Wait until the agent has pulled the cloud's state once (it does at start)."""
    program = agent.server.app[PROGRAM]
    for _ in range(400):
        if program.version is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the agent never pulled the cloud's state")
