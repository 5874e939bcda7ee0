"""Fixtures for the cloud store: one store per backend (SQLite file, fresh PostgreSQL database),
the real app on a real port (moved by ``tests.clock.Clock``), and helpers that build wire events."""

import hashlib
import hmac
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store, open_store
from sync.contract import claim_token
from tests.clock import START, Clock


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database URL of a fresh store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.db'}"
    dsn: str = request.getfixturevalue("fresh_pg_dsn")
    return dsn


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open store on the backend under test."""
    s = await open_store(store_url)
    try:
        yield s
    finally:
        await s.close()


@dataclass
class Cloud:
    """A running cloud app with one provisioned business."""

    http: TestClient[Any, Any]
    store: Store
    clock: Clock
    link: dict[str, Any]
    rng: random.Random

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.link['admin_key']}"}

    def device(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.link['device_key']}"}

    async def post_events(self, events: list[dict[str, Any]], key: str | None = None) -> Any:
        resp = await self.http.post(
            "/v1/sync/events", json={"events": events}, headers=self.device(key)
        )
        assert resp.status == 200, await resp.text()
        return [r for r in (await resp.json())["results"]]

    async def customer(self, email: str | None = None, name: str | None = None) -> Any:
        body = {k: v for k, v in {"email": email, "name": name}.items() if v is not None}
        resp = await self.http.post("/v1/customers", json=body, headers=self.admin())
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def card(self, code: str) -> Any:
        resp = await self.http.get(f"/v1/cards/{code}", headers=self.admin())
        assert resp.status == 200, await resp.text()
        return await resp.json()

    def token(self, order_id: str, stamps: int, *, ttl_hours: int = 24, at: datetime | None = None,
              secret: str | None = None, device_id: int | None = None) -> str:  # fmt: skip
        text, _ = claim_token.mint(
            secret=secret or self.link["device_secret"],
            device_id=device_id or self.link["device_id"],
            order_id=order_id,
            stamps=stamps,
            now=at or self.clock.now,
            ttl_hours=ttl_hours,
        )
        return text

    async def card_sig(self, code: str) -> str:
        """The card's link signature: what proves a card to a claim (a code alone does not)."""
        return await card_sig(self.store, code)

    async def set_program(self, **program: Any) -> Any:
        resp = await self.http.put(
            f"/v1/branches/{self.link['branch_id']}/program", json=program, headers=self.admin()
        )
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def card_sig(store: Store, code: str) -> str:
    """A card's link signature, as ``/card/{code}/{sig}`` carries it."""
    key = await store.card_link_key(code)
    return hmac.new(key, code.upper().encode(), hashlib.sha256).hexdigest()[:24]


def event(kind: str, payload: dict[str, Any], *, eid: str | None = None,
          device_time: datetime = START) -> dict[str, Any]:  # fmt: skip
    """One wire event."""
    return {
        "id": eid or str(uuid.uuid4()),
        "type": kind,
        "device_time": device_time.isoformat(),
        "payload": payload,
    }


def order(order_id: str, stamps: int = 1, customer: dict[str, str] | None = None,
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    """An order payload (``order.stamped`` / ``order.recorded`` / ``receipt_qr.issued``)."""
    body: dict[str, Any] = {
        "order_id": order_id, "total": "12.50", "currency": "EUR", "stamps": stamps,
        "rule": "per_order", **extra,
    }  # fmt: skip
    if customer is not None:
        body["customer"] = customer
    return body


def qr_issued(order_id: str, stamps: int, expires: datetime, **kw: Any) -> dict[str, Any]:
    """A ``receipt_qr.issued`` event for ``order_id``."""
    payload = order(order_id, stamps, order_ref=claim_token.order_ref(order_id),
                    claim_expires_at=expires.isoformat())  # fmt: skip
    return event("receipt_qr.issued", payload, **kw)


async def start_cloud(store: Store, clock: Clock, rng: random.Random | None = None,
                      **init: Any) -> tuple[TestClient[Any, Any], dict[str, Any]]:  # fmt: skip
    """Provision a business on ``store`` and serve the app over it on a real port."""
    settings = load_cloud_settings(None, {"cloud": {"database": "sqlite:///unused.db"}})
    args: dict[str, Any] = {"business": "Cafe", "branch": "Main", "rule": "per_order",
                            "step": Decimal("10"), "goal": 10, **init}  # fmt: skip
    link = await init_business(store, **args, now=clock.now)
    app = build_cloud_app(settings, store=store, rng=rng or random.Random(7), clock=clock)
    http: TestClient[Any, Any] = TestClient(TestServer(app))
    await http.start_server()
    return http, link


@pytest.fixture
async def cloud(store: Store, clock: Clock) -> AsyncIterator[Cloud]:
    """The cloud app over the store under test, with one business (goal 10, per order)."""
    rng = random.Random(7)
    http, link = await start_cloud(store, clock, rng)
    try:
        yield Cloud(http, store, clock, link, rng)
    finally:
        await http.close()
