"""Which language the cloud's customer pages speak: the business's (``cloud.language``), the
phone's browser (``Accept-Language``), or the switcher's choice remembered in a cookie; and the
business's language travels to agents in the sync state."""

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.provision import init_business
from sync.cloud.store import Store
from tests.clock import START, Clock
from tests.sync.cloud.conftest import Cloud, qr_issued


@pytest.fixture
async def german_cloud(store: Store, clock: Clock) -> AsyncIterator[Cloud]:
    """A cloud whose business speaks German (``[cloud] language = "de"``)."""
    settings = load_cloud_settings(
        None, {"cloud": {"database": "sqlite:///unused.db", "language": "de"}}
    )
    link = await init_business(store, business="Café Müller", branch="Mitte", rule="per_order",
                               step=Decimal("10"), goal=10, now=clock.now)  # fmt: skip
    rng = random.Random(7)
    app = build_cloud_app(settings, store=store, rng=rng, clock=clock)
    http: TestClient[Any, Any] = TestClient(TestServer(app))
    await http.start_server()
    try:
        yield Cloud(http, store, clock, link, rng)
    finally:
        await http.close()


async def _receipt(cloud: Cloud, order_id: str) -> str:
    await cloud.post_events([qr_issued(order_id, 2, START + timedelta(days=1))])
    return cloud.token(order_id, 2)


async def test_given_a_german_business_when_a_phone_opens_a_receipt_then_german(
    german_cloud: Cloud,
) -> None:
    """Given cloud.language = "de" and a phone that sends no Accept-Language, when it opens a
    receipt QR, then the page is German (lang="de", Content-Language: de), with the switcher."""
    resp = await german_cloud.http.get(f"/C/{await _receipt(german_cloud, 'D-1')}",
                                       skip_auto_headers=["Accept-Language"])  # fmt: skip
    html = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Language"] == "de"
    assert '<html lang="de">' in html and "Meine Stempel sammeln" in html
    assert "2 Stempel für Ihre Karte" in html
    assert 'hreflang="pl"' in html and ">Polski<" in html and 'aria-current="true">Deutsch' in html


async def test_given_a_polish_phone_when_it_opens_a_receipt_then_polish(
    german_cloud: Cloud,
) -> None:
    """Given a German business, when a phone whose browser prefers Polish opens a receipt,
    then the page is Polish with Polish plurals."""
    token = await _receipt(german_cloud, "D-2")
    headers = {"Accept-Language": "fr-FR;q=0.9, pl-PL, en;q=0.5"}
    html = await (await german_cloud.http.get(f"/C/{token}", headers=headers)).text()
    assert '<html lang="pl">' in html and "Odbierz moje pieczątki" in html
    assert "2 pieczątki na Twoją kartę" in html


async def test_given_the_switcher_when_ukrainian_picked_then_remembered_for_the_card(
    german_cloud: Cloud,
) -> None:
    """Given a claimed receipt, when the customer picks Українська in the switcher (?lang=uk),
    then that page and the next ones (the card) are Ukrainian though the browser asks for
    Polish: the choice is kept in a cookie."""
    token = await _receipt(german_cloud, "D-3")
    polish = {"Accept-Language": "pl"}
    done = await german_cloud.http.post(f"/C/{token}", headers=polish)
    assert done.status == 200
    picked = await german_cloud.http.get("/card?lang=uk", headers=polish)
    assert picked.cookies["stampedge_lang"].value == "uk"
    assert "Ваша картка" in await picked.text()
    again = await german_cloud.http.get("/card", headers=polish)
    html = await again.text()
    assert again.status == 200 and '<html lang="uk">' in html and "Номер картки" in html
    assert "2 з 10 печаток" in html


async def test_given_a_bad_language_then_the_business_language(german_cloud: Cloud) -> None:
    """Given ?lang=xx and a garbage Accept-Language, then the page is the business's German
    and no cookie is set."""
    token = await _receipt(german_cloud, "D-4")
    resp = await german_cloud.http.get(
        f"/C/{token}?lang=xx", headers={"Accept-Language": ";;q=abc,q=,de;q=NaN" + ",x-y" * 500}
    )
    assert resp.status == 200 and '<html lang="de">' in await resp.text()
    assert "stampedge_lang" not in resp.cookies


async def test_given_a_german_business_then_the_sync_state_tells_agents(
    german_cloud: Cloud,
) -> None:
    """Given cloud.language = "de", when an agent pulls its state, then it reads "de"."""
    resp = await german_cloud.http.get("/v1/sync/state", headers=german_cloud.device())
    assert resp.status == 200 and (await resp.json())["language"] == "de"
