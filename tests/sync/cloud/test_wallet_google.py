"""Google Wallet: the save link's JWT verifies with the service account's public key (PyJWT)
and carries the card's barcode and balance; a stamp patches the card's object on a local
stand-in of the Wallet REST API, which checks the OAuth grant, the token and the body."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web

from sync.cloud.card_links import link_signature
from sync.cloud.store import Store
from sync.cloud.wallet.keys import WALLET
from sync.cloud.wallet.pusher import Pusher
from tests.sync.cloud.conftest import Clock
from tests.sync.cloud.wallet_cloud import PUBLIC, WalletCloud, start_wallet_cloud
from tests.sync.cloud.wallet_pki import Pki, make_pki

ISSUER = "3388000000099"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


class GoogleStandIn:
    """The token endpoint and ``loyaltyObject`` PATCH, on a real port."""

    def __init__(self, public_key: bytes) -> None:
        self.public_key = public_key
        self.grants: list[dict[str, Any]] = []
        self.patches: list[tuple[str, dict[str, Any]]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            str(form["assertion"]), self.public_key, algorithms=["RS256"],
            audience=f"{self.url}/token",
        )  # fmt: skip
        self.grants.append(claims)
        return web.json_response({"access_token": "at-1", "expires_in": 3600})

    async def patch(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer at-1":
            return web.json_response({"error": "unauthenticated"}, status=401)
        self.patches.append((request.match_info["id"], await request.json()))
        return web.json_response({"id": request.match_info["id"]})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/token", self.token)
        app.router.add_patch("/walletobjects/v1/loyaltyObject/{id}", self.patch)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    standin = GoogleStandIn(b"")
    await standin.start()
    try:
        yield standin
    finally:
        await standin.stop()


@pytest.fixture
async def gcloud(
    store: Store, clock: Clock, pki: Pki, google: GoogleStandIn, tmp_path: Path
) -> AsyncIterator[WalletCloud]:
    google.public_key = pki.google_public.read_bytes()
    account = json.loads(pki.service_account.read_text())
    account["token_uri"] = f"{google.url}/token"
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(account))
    section = {
        "issuer_id": ISSUER,
        "service_account": str(path),
        "api_base": f"{google.url}/walletobjects/v1",
    }
    wc = await start_wallet_cloud(store, clock, {"google": section})
    try:
        yield wc
    finally:
        await wc.http.close()


async def _save_link(wc: WalletCloud, code: str) -> str:
    sig = link_signature(await wc.store.card_link_key(code), code)
    resp = await wc.http.get(f"/card/{code}/{sig}/google", allow_redirects=False)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    assert location.startswith("https://pay.google.com/gp/v/save/")
    return location.removeprefix("https://pay.google.com/gp/v/save/")


async def test_given_a_card_then_its_save_link_is_a_jwt_with_barcode_and_balance(
    gcloud: WalletCloud, pki: Pki
) -> None:
    card = await gcloud.new_card()
    await gcloud.stamp(card["card_code"])
    token = await _save_link(gcloud, card["card_code"])
    assert jwt.get_unverified_header(token)["kid"] == "key-1"
    claims = jwt.decode(
        token, pki.google_public.read_bytes(), algorithms=["RS256"], audience="google"
    )
    assert claims["typ"] == "savetowallet" and claims["origins"] == [PUBLIC]
    assert claims["iss"] == "wallet@test-project.iam.gserviceaccount.com"
    obj = claims["payload"]["loyaltyObjects"][0]
    assert obj["id"] == f"{ISSUER}.{card['card_code']}"
    assert obj["classId"] == claims["payload"]["loyaltyClasses"][0]["id"]
    assert obj["barcode"] == {"type": "QR_CODE", "value": card["card_code"],
                              "alternateText": card["number"]}  # fmt: skip
    assert obj["loyaltyPoints"]["balance"] == {"string": "1 of 10"}
    wrong = await gcloud.http.get(f"/card/{card['card_code']}/{'0' * 24}/google")
    assert wrong.status == 404


async def test_given_a_saved_card_when_it_is_stamped_then_its_object_is_patched(
    gcloud: WalletCloud, google: GoogleStandIn
) -> None:
    card = await gcloud.new_card()
    await _save_link(gcloud, card["card_code"])
    await gcloud.stamp(card["card_code"])
    await gcloud.stamp(card["card_code"])
    deadline = time.monotonic() + 30
    while not any(
        p[1]["loyaltyPoints"]["balance"] == {"string": "2 of 10"} for p in google.patches
    ):
        assert time.monotonic() < deadline, f"no patch with the balance: {google.patches}"
        await asyncio.sleep(0.02)
    object_id, body = google.patches[-1]
    assert object_id == f"{ISSUER}.{card['card_code']}"
    assert body["textModulesData"][0]["body"].endswith("8 to go")
    grant = google.grants[0]
    assert grant["scope"] == "https://www.googleapis.com/auth/wallet_object.issuer"
    assert grant["iss"] == "wallet@test-project.iam.gserviceaccount.com"


async def test_given_no_apple_section_then_there_is_no_pkpass_route(gcloud: WalletCloud) -> None:
    card = await gcloud.new_card()
    resp = await gcloud.http.get(
        f"/v1/cards/{card['card_code']}/pass.pkpass", headers=gcloud.admin()
    )
    assert resp.status == 404


async def test_given_a_change_as_the_cloud_stops_then_the_push_worker_stops(
    gcloud: WalletCloud, clock: Clock
) -> None:
    """Given the push worker idle, waiting for a change, when a change wakes it in the same
    moment as the cloud's shutdown cancels it, then it stops. (With ``asyncio.wait_for`` on
    Python 3.11 the wake won and the cancellation was lost: the worker ran on and the shutdown
    waited for it forever, as a test's teardown once did.)"""
    wallet = gcloud.http.server.app[WALLET]
    pusher = Pusher(gcloud.store, wallet, clock, None, None)
    task = asyncio.create_task(pusher.run())
    while not pusher.idle:  # its first look at the queue is done
        await asyncio.sleep(0.01)
    pusher.wake()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=30)  # a guard: without the fix, a hang
    stopped = task in done
    if not stopped:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert stopped and task.cancelled()
