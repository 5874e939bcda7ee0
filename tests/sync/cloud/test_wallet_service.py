"""Apple's PassKit web service and pushes, driven as an iPhone would: register (201, then 200),
the serials updated since a tag (200, 204), the latest pass with ``If-Modified-Since`` (304),
401 for a wrong token; a stamp reaches a local HTTP/2 APNs stand-in over TLS (client
certificate required) with the pass type as topic, once per burst; a token APNs calls
unregistered is dropped; a push APNs cannot take stays queued with its attempts counted."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sync.cloud.store import Store
from sync.cloud.wallet import passes_db
from tests.sync.cloud.apns_standin import ApnsStandIn
from tests.sync.cloud.conftest import Clock
from tests.sync.cloud.wallet_cloud import WalletCloud, pass_json, start_wallet_cloud
from tests.sync.cloud.wallet_pki import Pki, apple_section, make_pki

BASE = "/wallet/apple/v1"
TYPE = "pass.test.stamps"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def apns(pki: Pki) -> Any:
    standin = ApnsStandIn(pki, gone={"deadbeef00"})
    standin.start()
    yield standin
    standin.stop()


async def _cloud(store: Store, clock: Clock, pki: Pki, url: str, **extra: Any) -> WalletCloud:
    section = apple_section(pki, apns_url=url, apns_ca=str(pki.root), **extra)
    return await start_wallet_cloud(store, clock, {"apple": section})


@pytest.fixture
async def wcloud(
    store: Store, clock: Clock, pki: Pki, apns: ApnsStandIn
) -> AsyncIterator[WalletCloud]:
    wc = await _cloud(store, clock, pki, apns.url)
    try:
        yield wc
    finally:
        await wc.http.close()


async def until(check: Callable[[], Awaitable[bool]], what: str, limit_s: float = 30.0) -> None:
    """Wait for ``check`` (a deadline against a hung test, not a speed assertion)."""
    deadline = time.monotonic() + limit_s
    while not await check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


async def settled(store: Store) -> bool:
    """Every card change was looked at and every push made."""
    async with store.db.read() as tx:
        queued = await tx.fetchval("SELECT COUNT(*) FROM wallet_pushes")
        behind = await tx.fetchval(
            "SELECT COUNT(*) FROM counters c LEFT JOIN wallet_cursors w "
            "ON w.business_id = c.business_id WHERE c.card_seq > COALESCE(w.card_seq, -1) "
            "AND c.business_id IN (SELECT business_id FROM wallet_passes)"
        )
    return int(queued) == 0 and int(behind) == 0


async def _pass_and_token(wc: WalletCloud) -> tuple[str, str]:
    card = await wc.new_card()
    doc = pass_json(await wc.pkpass(card["card_code"]))
    return doc["serialNumber"], doc["authenticationToken"]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"ApplePass {token}"}


async def test_given_a_device_when_it_registers_and_a_stamp_lands_then_it_is_pushed_and_updates(
    wcloud: WalletCloud, apns: ApnsStandIn
) -> None:
    http = wcloud.http
    serial, token = await _pass_and_token(wcloud)
    reg = f"{BASE}/devices/phone1/registrations/{TYPE}/{serial}"

    wrong = await http.post(reg, json={"pushToken": "aa11"}, headers=_auth("not-the-token"))
    assert wrong.status == 401 and (await wrong.json())["error"]["code"]
    assert (await http.post(reg, json={"pushToken": "aa11"})).status == 401
    first = await http.post(reg, json={"pushToken": "aa11"}, headers=_auth(token))
    assert first.status == 201
    again = await http.post(reg, json={"pushToken": "aa11"}, headers=_auth(token))
    assert again.status == 200
    bad = await http.post(reg, json={"pushToken": ""}, headers=_auth(token))
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "pushToken"

    listed = await http.get(f"{BASE}/devices/phone1/registrations/{TYPE}")
    assert listed.status == 200
    body = await listed.json()
    assert body["serialNumbers"] == [serial]
    tag = body["lastUpdated"]
    none = await http.get(f"{BASE}/devices/phone1/registrations/{TYPE}?passesUpdatedSince={tag}")
    assert none.status == 204

    latest = await http.get(f"{BASE}/passes/{TYPE}/{serial}", headers=_auth(token))
    assert latest.status == 200 and latest.content_type == "application/vnd.apple.pkpass"
    modified = latest.headers["Last-Modified"]
    unchanged = await http.get(
        f"{BASE}/passes/{TYPE}/{serial}", headers={**_auth(token), "If-Modified-Since": modified}
    )
    assert unchanged.status == 304
    assert (await http.get(f"{BASE}/passes/{TYPE}/{serial}", headers=_auth("x"))).status == 401

    stamped_at = time.monotonic()
    await wcloud.stamp(serial)

    async def pushed() -> bool:
        return bool(apns.to("aa11"))

    await until(pushed, "a push to the registered device")
    push = apns.to("aa11")[0]
    print(f"stamp -> push at the APNs stand-in: {(push.at - stamped_at) * 1000:.0f} ms")
    assert push.path == "/3/device/aa11" and push.http_version == "2"
    assert push.headers["apns-topic"] == TYPE and push.body == b"{}"

    since = await http.get(f"{BASE}/devices/phone1/registrations/{TYPE}?passesUpdatedSince={tag}")
    assert since.status == 200
    later = await since.json()
    assert later["serialNumbers"] == [serial] and int(later["lastUpdated"]) > int(tag)
    fresh = await http.get(
        f"{BASE}/passes/{TYPE}/{serial}", headers={**_auth(token), "If-Modified-Since": modified}
    )
    assert fresh.status == 200
    assert pass_json(await fresh.read())["storeCard"]["headerFields"][0]["value"] == "1 of 10"
    assert parsedate_to_datetime(fresh.headers["Last-Modified"]) > parsedate_to_datetime(modified)

    logged = await http.post(f"{BASE}/log", json={"logs": ["a device said something"]})
    assert logged.status == 200

    gone = await http.delete(reg, headers=_auth(token))
    assert gone.status == 200
    await wcloud.stamp(serial)
    await until(lambda: settled(wcloud.store), "the second stamp looked at")
    assert len(apns.to("aa11")) == 1


async def test_given_a_burst_of_stamps_then_each_device_gets_one_push(
    store: Store, clock: Clock, pki: Pki, apns: ApnsStandIn
) -> None:
    wc = await _cloud(store, clock, pki, apns.url, push_delay_ms=2000)
    try:
        serial, token = await _pass_and_token(wc)
        for device, push_token in (("phoneA", "a1"), ("phoneB", "b2")):
            reg = f"{BASE}/devices/{device}/registrations/{TYPE}/{serial}"
            resp = await wc.http.post(reg, json={"pushToken": push_token}, headers=_auth(token))
            assert resp.status == 201
        await asyncio.gather(*(wc.stamp(serial) for _ in range(5)))

        async def both() -> bool:
            return bool(apns.to("a1")) and bool(apns.to("b2"))

        await until(both, "a push to each device")
        await until(lambda: settled(store), "every change looked at")
        assert len(apns.to("a1")) == 1 and len(apns.to("b2")) == 1
    finally:
        await wc.http.close()


async def test_given_a_token_apns_calls_unregistered_then_its_registration_is_dropped(
    wcloud: WalletCloud, apns: ApnsStandIn
) -> None:
    serial, token = await _pass_and_token(wcloud)
    for device, push_token in (("dead", "deadbeef00"), ("live", "cafe01")):
        reg = f"{BASE}/devices/{device}/registrations/{TYPE}/{serial}"
        assert (await wcloud.http.post(reg, json={"pushToken": push_token},
                                       headers=_auth(token))).status == 201  # fmt: skip
    await wcloud.stamp(serial)
    await until(lambda: settled(wcloud.store), "the push made")
    tokens = await passes_db.push_tokens(wcloud.store.db, [serial])
    assert tokens == {serial: ["cafe01"]}
    assert len(apns.to("cafe01")) == 1 and len(apns.to("deadbeef00")) == 1


async def test_given_apns_unreachable_then_the_push_stays_queued_and_is_retried(
    store: Store, clock: Clock, pki: Pki
) -> None:
    wc = await _cloud(store, clock, pki, "https://localhost:9")
    try:
        serial, token = await _pass_and_token(wc)
        reg = f"{BASE}/devices/p/registrations/{TYPE}/{serial}"
        assert (
            await wc.http.post(reg, json={"pushToken": "ab"}, headers=_auth(token))
        ).status == 201
        await wc.stamp(serial)

        async def failed_once() -> bool:
            async with store.db.read() as tx:
                attempts = await tx.fetchval(
                    "SELECT attempts FROM wallet_pushes WHERE serial = ?", serial
                )
            return attempts is not None and int(attempts) >= 1

        await until(failed_once, "a failed attempt recorded")
        async with store.db.read() as tx:
            due = int(
                await tx.fetchval("SELECT due_us FROM wallet_pushes WHERE serial = ?", serial)
            )
        assert due > time.time_ns() // 1000  # tried again later, not dropped
    finally:
        await wc.http.close()


async def test_given_a_registered_pass_a_redeem_and_a_program_change_each_push_it(
    wcloud: WalletCloud, apns: ApnsStandIn
) -> None:
    http, branch = wcloud.http, wcloud.link["branch_id"]
    program = {"rule": "per_order", "goal": 2, "reward_name": "Free coffee"}
    resp = await http.put(f"/v1/branches/{branch}/program", json=program, headers=wcloud.admin())
    assert resp.status == 200
    serial, token = await _pass_and_token(wcloud)
    reg = f"{BASE}/devices/phoneR/registrations/{TYPE}/{serial}"
    assert (await http.post(reg, json={"pushToken": "r1"}, headers=_auth(token))).status == 201

    async def latest() -> dict[str, Any]:
        got = await http.get(f"{BASE}/passes/{TYPE}/{serial}", headers=_auth(token))
        assert got.status == 200
        return pass_json(await got.read())["storeCard"]

    await wcloud.stamp(serial)
    await wcloud.stamp(serial)
    await until(lambda: settled(wcloud.store), "the stamps pushed")
    pushes = len(apns.to("r1"))
    assert pushes >= 1
    card = await (await http.get(f"/v1/cards/{serial}", headers=wcloud.admin())).json()
    code = card["rewards"][0]["code"]
    assert (await latest())["auxiliaryFields"][0]["value"] == "1 reward"

    redeemed = await http.post(f"/v1/vouchers/{code}/redeem", json={}, headers=wcloud.admin())
    assert redeemed.status == 200, await redeemed.text()

    async def pushed_again() -> bool:
        return len(apns.to("r1")) > pushes and await settled(wcloud.store)

    await until(pushed_again, "a push after the redeem")
    assert (await latest())["auxiliaryFields"][0]["value"] == "none yet"
    pushes = len(apns.to("r1"))

    program["goal"] = 5
    resp = await http.put(f"/v1/branches/{branch}/program", json=program, headers=wcloud.admin())
    assert resp.status == 200
    await until(pushed_again, "a push after the program change")
    assert (await latest())["headerFields"][0]["value"] == "0 of 5"


async def test_given_token_auth_then_each_push_carries_an_es256_provider_token(
    store: Store, clock: Clock, pki: Pki, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    p8 = tmp_path / "AuthKey_KEY1234567.p8"
    p8.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    standin = ApnsStandIn(pki, client_cert=False)
    standin.start()
    try:
        wc = await _cloud(store, clock, pki, standin.url, apns_auth="token",
                          apns_key=str(p8), apns_key_id="KEY1234567")  # fmt: skip
        try:
            serial, token = await _pass_and_token(wc)
            reg = f"{BASE}/devices/t/registrations/{TYPE}/{serial}"
            resp = await wc.http.post(reg, json={"pushToken": "ee01"}, headers=_auth(token))
            assert resp.status == 201
            await wc.stamp(serial)

            async def pushed() -> bool:
                return bool(standin.to("ee01"))

            await until(pushed, "a push with a provider token")
        finally:
            await wc.http.close()
    finally:
        standin.stop()
    scheme, _, provider = standin.to("ee01")[0].headers["authorization"].partition(" ")
    assert scheme == "bearer"
    assert jwt.get_unverified_header(provider)["kid"] == "KEY1234567"
    claims = jwt.decode(provider, key.public_key(), algorithms=["ES256"])
    assert claims["iss"] == "TEAM123456" and isinstance(claims["iat"], int)


def test_given_token_auth_without_a_key_then_start_up_names_the_setting(
    pki: Pki, tmp_path: Path
) -> None:
    from config import load_cloud_settings
    from sync.cloud.app import build_cloud_app
    from sync.cloud.wallet.credentials import WalletConfigError

    section = apple_section(pki, apns_auth="token")
    settings = load_cloud_settings(
        None,
        {"cloud": {"database": f"sqlite:///{tmp_path / 'cloud.db'}"}, "wallet": {"apple": section}},
    )

    async def start() -> None:
        runner = web.AppRunner(build_cloud_app(settings))
        try:
            await runner.setup()
        finally:
            await runner.cleanup()

    with pytest.raises(WalletConfigError, match=r"^wallet\.apple\.apns_key: "):
        asyncio.run(start())


async def test_given_a_voucher_that_expires_by_the_clock_then_its_pass_is_pushed(
    wcloud: WalletCloud, apns: ApnsStandIn, clock: Clock
) -> None:
    http, branch = wcloud.http, wcloud.link["branch_id"]
    program = {"rule": "per_order", "goal": 1, "reward": "voucher", "voucher_valid_days": 1}
    resp = await http.put(f"/v1/branches/{branch}/program", json=program, headers=wcloud.admin())
    assert resp.status == 200, await resp.text()
    serial, token = await _pass_and_token(wcloud)
    reg = f"{BASE}/devices/phoneV/registrations/{TYPE}/{serial}"
    assert (await http.post(reg, json={"pushToken": "v1"}, headers=_auth(token))).status == 201
    await wcloud.stamp(serial)
    await until(lambda: settled(wcloud.store), "the stamp pushed")
    pushes = len(apns.to("v1"))
    got = await http.get(f"{BASE}/passes/{TYPE}/{serial}", headers=_auth(token))
    assert pass_json(await got.read())["storeCard"]["auxiliaryFields"][0]["value"] == "1 reward"

    clock.advance(days=2)  # the voucher expires; nothing is written
    assert (await http.post(f"{BASE}/log", json={"logs": []})).status == 200  # wakes the worker

    async def pushed_again() -> bool:
        return len(apns.to("v1")) > pushes and await settled(wcloud.store)

    await until(pushed_again, "a push for the expired voucher")
    got = await http.get(f"{BASE}/passes/{TYPE}/{serial}", headers=_auth(token))
    assert pass_json(await got.read())["storeCard"]["auxiliaryFields"][0]["value"] == "none yet"


async def test_given_apns_closes_connections_then_every_push_still_lands(
    pki: Pki, apns: ApnsStandIn
) -> None:
    """hypercorn ends an HTTP/2 connection after 1,000 requests (GOAWAY) without answering the
    streams still in flight, as a server may at any time: every push is answered "sent" in the
    end, each device is reached; a push whose answer was cut off is sent again (a duplicate
    costs the phone one request, a lost one would leave its card stale)."""
    from datetime import UTC, datetime

    from config.cloud import AppleWalletSection
    from sync.cloud.wallet.apns import ApnsClient
    from sync.cloud.wallet.credentials import load_apple

    section = AppleWalletSection(**apple_section(pki, apns_url=apns.url, apns_ca=str(pki.root)))  # type: ignore[arg-type]
    creds = await asyncio.to_thread(load_apple, section, datetime.now(UTC))
    client = await asyncio.to_thread(ApnsClient, section, creds)
    gate = asyncio.Semaphore(64)

    async def one(i: int) -> str:
        async with gate:
            return await client.push(f"{i:08x}")

    try:
        outcomes = await asyncio.gather(*(one(i) for i in range(2500)))
    finally:
        await client.close()
    assert set(outcomes) == {"sent"}
    paths = [p.path for p in apns.pushes]
    assert set(paths) == {f"/3/device/{i:08x}" for i in range(2500)}
    assert len(paths) - 2500 <= 64 * 3  # at most the streams in flight when each of 2 closed
