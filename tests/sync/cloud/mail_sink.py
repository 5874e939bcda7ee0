"""A real SMTP server on a loopback port (aiosmtpd) that keeps what it receives, and the cloud
app with ``[mail]`` pointing at it."""

import asyncio
import random
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store
from sync.contract import claim_token
from tests.clock import Clock
from tests.conftest import free_port

LINK = re.compile(r"https?://[^\s/]+/signin/[A-Za-z0-9_-]+")


class Sink:
    """aiosmtpd's handler: every message accepted, kept parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    async def wait_for(self, count: int) -> list[EmailMessage]:
        """The first ``count`` messages, once they have arrived (the sender works in the
        background; this waits for it, it does not time it)."""
        for _ in range(600):
            if len(self.messages) >= count:
                return self.messages[:count]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} messages arrived, expected {count}")


class SmtpSink:
    """A started aiosmtpd server and what it received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sink = Sink()
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A local SMTP sink (started and stopped outside the event loop: aiosmtpd's controller
    runs its own loop on a thread)."""
    server = SmtpSink(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def link_in(msg: EmailMessage) -> str:
    """The sign-in link a message carries (its path)."""
    body = msg.get_content()
    found = LINK.search(body)
    assert found, body
    return "/" + found.group(0).split("/", 3)[3]


async def mail_cloud(
    store: Store, clock: Clock, smtp_port: int, **mail: Any
) -> tuple[TestClient[Any, Any], dict[str, Any]]:
    """The cloud app over ``store`` with ``[mail]`` at the sink, one business provisioned."""
    port = free_port()
    settings = load_cloud_settings(
        None,
        {
            "cloud": {"database": "sqlite:///unused.db", "public_url": f"http://127.0.0.1:{port}"},
            "mail": {"host": "127.0.0.1", "port": smtp_port, "tls": "none",
                     "from": "Cafe <stamps@cafe.example>", **mail},
        },
    )  # fmt: skip
    link = await init_business(
        store, business="Cafe", branch="Main", rule="per_order", step=Decimal("10"), goal=10,
        now=clock.now,
    )  # fmt: skip
    app = build_cloud_app(settings, store=store, rng=random.Random(7), clock=clock)
    http: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await http.start_server()
    return http, link


class Mailed:
    """The app, its business and the SMTP sink."""

    def __init__(self, http: TestClient[Any, Any], link: dict[str, Any], smtp: SmtpSink,
                 store: Store, clock: Clock) -> None:  # fmt: skip
        self.http, self.link, self.smtp, self.store, self.clock = http, link, smtp, store, clock

    def url(self, path: str) -> str:
        return str(self.http.make_url(path))

    def token(self, order_id: str, stamps: int) -> str:
        text, _ = claim_token.mint(
            secret=self.link["device_secret"], device_id=self.link["device_id"],
            order_id=order_id, stamps=stamps, now=self.clock.now, ttl_hours=24,
        )  # fmt: skip
        return text

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.link['admin_key']}"}

    async def card(self, code: str) -> Any:
        resp = await self.http.get(f"/v1/cards/{code}", headers=self.admin())
        assert resp.status == 200, await resp.text()
        return await resp.json()


@pytest.fixture
async def mailed(store: Store, clock: Clock, smtp: SmtpSink) -> AsyncIterator[Mailed]:
    http, link = await mail_cloud(store, clock, smtp.port)
    try:
        yield Mailed(http, link, smtp, store, clock)
    finally:
        await http.close()


def phone() -> aiohttp.ClientSession:
    """A phone of its own: its own cookies (IP hosts allowed, as a browser on a LAN)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def claim_on(phone: aiohttp.ClientSession, m: Mailed, order_id: str, stamps: int) -> str:
    """Claim a receipt with the phone's button; the card code its page shows."""
    resp = await phone.post(m.url(f"/c/{m.token(order_id, stamps)}"))
    assert resp.status == 200, await resp.text()
    card = await phone.get(m.url("/card"))
    text = await card.text()
    start = text.index('id="card-code">') + len('id="card-code">')
    return text[start : text.index("<", start)]
