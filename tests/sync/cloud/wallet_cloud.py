"""A cloud app with wallets configured, on the store under test, and helpers a phone or a
till would use on it."""

import io
import json
import random
import uuid
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store
from tests.sync.cloud.conftest import Clock

PUBLIC = "http://127.0.0.1:8788"


@dataclass
class WalletCloud:
    """The app, its store and the business made for the test."""

    http: TestClient[Any, Any]
    store: Store
    link: dict[str, Any]

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.link['admin_key']}"}

    async def new_card(self, email: str | None = None) -> dict[str, Any]:
        body = {"email": email or f"{uuid.uuid4().hex[:10]}@example.com"}
        resp = await self.http.post("/v1/customers", json=body, headers=self.admin())
        assert resp.status == 201, await resp.text()
        found: dict[str, Any] = await resp.json()
        return found

    async def stamp(self, code: str, total: str = "5") -> None:
        body = {"order_id": uuid.uuid4().hex, "total": total, "customer": {"card": code}}
        resp = await self.http.post("/v1/stamps", json=body, headers=self.admin())
        assert resp.status == 201, await resp.text()

    async def pkpass(self, code: str) -> bytes:
        resp = await self.http.get(f"/v1/cards/{code}/pass.pkpass", headers=self.admin())
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "application/vnd.apple.pkpass"
        return await resp.read()


def pass_json(pkpass: bytes) -> dict[str, Any]:
    """The ``pass.json`` inside a ``.pkpass``."""
    with zipfile.ZipFile(io.BytesIO(pkpass)) as z:
        found: dict[str, Any] = json.loads(z.read("pass.json"))
    return found


async def start_wallet_cloud(store: Store, clock: Clock, wallet: dict[str, Any]) -> WalletCloud:
    """Provision a business and serve the app with ``wallet`` as its ``[wallet]`` table."""
    settings = load_cloud_settings(
        None,
        {"cloud": {"database": "sqlite:///unused.db", "public_url": PUBLIC}, "wallet": wallet},
    )
    link = await init_business(
        store, business="Cafe", branch="Main", rule="per_order", step=Decimal("10"), goal=10,
        now=clock.now,
    )  # fmt: skip
    app = build_cloud_app(settings, store=store, rng=random.Random(7), clock=clock)
    http: TestClient[Any, Any] = TestClient(TestServer(app))
    await http.start_server()
    return WalletCloud(http, store, link)
