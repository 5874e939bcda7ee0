"""Keys, branches and tokens: who may do what, forged and replayed receipt codes, hostile text
stored as text, and the device secret kept out of the logs."""

import logging
from datetime import timedelta
from typing import Any

import pytest

from sync.cloud.store.tenancy import DeviceInfo
from tests.clock import START
from tests.sync.cloud.conftest import Cloud, event, order, qr_issued


async def _second_branch(cloud: Cloud) -> tuple[int, str]:
    body = {"name": "Harbour", "timezone": "Europe/Berlin"}
    resp = await cloud.http.post("/v1/branches", json=body, headers=cloud.admin())
    assert resp.status == 201, await resp.text()
    branch = (await resp.json())["branch_id"]
    resp = await cloud.http.post("/v1/devices", json={"branch_id": branch, "label": "till-9"},
                                 headers=cloud.admin())  # fmt: skip
    assert resp.status == 201
    return branch, (await resp.json())["device_key"]


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer", "Basic abc", "Bearer nonsense", "Bearer sk_1_wrong", "Bearer sk_999_x",
     "Bearer ak_1_wrong", "Bearer sk_99999999999999999999_x"],
)  # fmt: skip
async def test_given_a_missing_or_wrong_key_then_401(cloud: Cloud, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    for method, path in [("POST", "/v1/sync/events"), ("GET", "/v1/sync/state"),
                         ("GET", "/v1/customers?q=a"), ("GET", "/v1/stats"),
                         ("POST", "/v1/stamps"), ("POST", "/v1/devices")]:  # fmt: skip
        resp = await cloud.http.request(method, path, headers=headers, json={})
        assert resp.status == 401, (path, await resp.text())
        assert (await resp.json())["error"]["code"] == "unauthorized"


async def test_given_the_admin_key_rotated_then_only_the_new_one_acts_and_tills_keep_syncing(
    cloud: Cloud,
) -> None:
    old = cloud.admin()
    refused = await cloud.http.post("/v1/admin-key", headers=cloud.device())
    assert refused.status == 403  # a till cannot take over the business
    assert (await cloud.http.post("/v1/admin-key")).status == 401
    resp = await cloud.http.post("/v1/admin-key", headers=old)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    business = cloud.link["business_id"]
    assert body["business_id"] == business and body["admin_key"].startswith(f"ak_{business}_")
    assert body["admin_key"] != cloud.link["admin_key"]
    new = {"Authorization": f"Bearer {body['admin_key']}"}
    assert (await cloud.http.get("/v1/devices", headers=old)).status == 401
    assert (await cloud.http.post("/v1/admin-key", headers=old)).status == 401
    assert (await cloud.http.get("/v1/devices", headers=new)).status == 200
    result = await cloud.post_events([event("order.recorded", order("R-1"))])
    assert result[0]["status"] == "applied"  # device keys are untouched
    hashes = await _stored_key_hashes(cloud)
    assert body["admin_key"] not in hashes and cloud.link["admin_key"] not in hashes


async def _stored_key_hashes(cloud: Cloud) -> str:
    async with cloud.store.db.read() as tx:
        rows = await tx.fetch("SELECT admin_key_hash FROM businesses")
    return " ".join(str(r[0]) for r in rows)


async def test_given_another_branchs_device_key_then_403(cloud: Cloud) -> None:
    _, key = await _second_branch(cloud)
    main = cloud.link["branch_id"]
    c = await cloud.customer("x@example.com")
    ref = {"card": c["card_code"]}
    checks = [
        ("GET", f"/v1/stats?branch={main}", None),
        ("POST", "/v1/stamps", {"order_id": "O", "total": 5, "customer": ref, "branch_id": main}),
        ("POST", "/v1/customers", {"email": "y@example.com", "branch_id": main}),
        ("PUT", f"/v1/branches/{main}/program", {"goal": 2}),
        ("POST", "/v1/devices", {"branch_id": main}),
        ("POST", "/v1/branches", {"name": "Mine now"}),
    ]  # fmt: skip
    for method, path, body in checks:
        resp = await cloud.http.request(method, path, json=body, headers=cloud.device(key))
        assert resp.status == 403, (path, await resp.text())
    own = await cloud.http.get("/v1/stats", headers=cloud.device(key))
    assert own.status == 200


async def test_given_another_branchs_order_then_void_from_this_branch_is_rejected(
    cloud: Cloud,
) -> None:
    _, key = await _second_branch(cloud)
    await cloud.post_events([event("order.recorded", order("X-1"))])
    res = await cloud.post_events([event("order.voided", {"order_id": "X-1"})], key=key)
    assert (res[0]["status"], res[0]["reason"]) == (
        "rejected",
        "the order belongs to another branch",
    )


async def test_given_another_business_then_its_keys_see_nothing_here(cloud: Cloud) -> None:
    from sync.cloud.provision import init_business

    other = await init_business(cloud.store, business="Rival", branch="R", rule="per_order")
    c = await cloud.customer("mine@example.com", "Mine")
    await cloud.post_events([event("order.stamped", order("M-1", 10, {"card": c["card_code"]}))])
    code = (await cloud.card(c["card_code"]))["rewards"][0]["code"]
    theirs = {"Authorization": f"Bearer {other['admin_key']}"}
    resp = await cloud.http.post(f"/v1/vouchers/{code}/redeem", headers=theirs)
    assert resp.status == 404
    resp = await cloud.http.get("/v1/customers", params={"q": c["card_code"]}, headers=theirs)
    assert (await resp.json())["customers"] == []
    card = await cloud.http.get(f"/v1/cards/{c['card_code']}", headers=theirs)
    assert card.status == 401  # not even the rewards: a key of another business proves nothing
    assert "mine@example.com" not in await card.text()
    res = await cloud.post_events(
        [event("order.stamped", order("Z-1", 1, {"card": c["card_code"]}))], key=other["device_key"]
    )
    assert res[0]["reason"] == "unknown card"


async def test_given_forged_or_replayed_tokens_then_refused_with_a_reason(cloud: Cloud) -> None:
    await cloud.post_events([qr_issued("F-1", 2, START + timedelta(days=1))])
    good = cloud.token("F-1", 2)
    flipped = good[:20] + ("A" if good[20] != "A" else "B") + good[21:]
    wrong_secret = cloud.token("F-1", 2, secret="not-the-device-secret-at-all")
    more_stamps = cloud.token("F-1", 50, secret="not-the-device-secret-at-all")
    unknown_device = cloud.token("F-1", 2, device_id=4242)
    for bad in (flipped, wrong_secret, more_stamps, unknown_device, "hello", "A" * 48, good[:-1]):
        resp = await cloud.http.post(f"/v1/claims/{bad}")
        assert resp.status == 404, bad
        assert (await resp.json())["error"]["code"] == "invalid"
    assert (await cloud.http.post(f"/v1/claims/{good}")).status == 201
    replay = await cloud.http.post(f"/v1/claims/{good}")
    assert replay.status == 409 and (await replay.json())["error"]["code"] == "already_claimed"
    old = cloud.token("F-2", 1, ttl_hours=1, at=START - timedelta(hours=2))
    expired = await cloud.http.post(f"/v1/claims/{old}")
    assert expired.status == 410 and (await expired.json())["error"]["code"] == "expired"


async def test_given_sql_looking_input_then_it_is_stored_and_found_as_plain_text(
    cloud: Cloud,
) -> None:
    name = "Robert'); DROP TABLE customers;--"
    c = await cloud.customer("o'reilly@example.com", name)
    assert c["name"] == name
    for q in ("' OR '1'='1", "%", "_", "\\"):
        resp = await cloud.http.get("/v1/customers", params={"q": q}, headers=cloud.admin())
        assert resp.status == 200 and (await resp.json())["customers"] == [], q
    resp = await cloud.http.get("/v1/customers", params={"q": "drop table"}, headers=cloud.admin())
    assert [x["name"] for x in (await resp.json())["customers"]] == [name]
    oid = "A';DELETE/**/FROM/**/events;--"
    res = await cloud.post_events(
        [event("order.stamped", order(oid, 1, {"email": "o'reilly@example.com"}))]
    )
    assert res[0]["status"] == "applied"
    async with cloud.store.db.read() as tx:
        assert await tx.fetchval("SELECT order_id FROM orders") == oid
        assert await tx.fetchval("SELECT COUNT(*) FROM events") == 1


@pytest.mark.parametrize("body", [b'{"email": "a\\u0000@x.y"}', b'{"name": "\\ud800"}'])
async def test_given_text_a_database_cannot_hold_then_422_not_500(
    cloud: Cloud, body: bytes
) -> None:
    resp = await cloud.http.post("/v1/customers", data=body, headers={**cloud.admin(),
                                 "Content-Type": "application/json"})  # fmt: skip
    assert resp.status == 422
    resp = await cloud.http.get("/v1/customers", params={"q": "a\x00b"}, headers=cloud.admin())
    assert resp.status == 422


async def test_given_a_body_over_the_limit_then_413(cloud: Cloud) -> None:
    big: dict[str, Any] = {"events": [], "pad": "x" * (5 * 1024 * 1024)}
    resp = await cloud.http.post("/v1/sync/events", json=big, headers=cloud.device())
    assert resp.status == 413


async def test_given_everything_logged_then_the_device_secret_and_keys_never_appear(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret, key = cloud.link["device_secret"], cloud.link["device_key"]
    branch, new_key = await _second_branch(cloud)
    await cloud.post_events([qr_issued("L-1", 1, START + timedelta(days=1))])
    await cloud.http.post(f"/v1/claims/{cloud.token('L-1', 1)}")
    await cloud.http.post(f"/v1/claims/{cloud.token('L-1', 1, secret='forged-secret-forged')}")
    await cloud.http.get(f"/c/{cloud.token('L-2', 1)}")
    await cloud.http.post("/v1/sync/events", data=b"{not json", headers=cloud.device())
    device = await cloud.store.device(cloud.link["device_id"])
    assert isinstance(device, DeviceInfo)
    logging.getLogger("test").info("device %r", device)
    assert caplog.records, "expected some log lines to inspect"
    for needle in (secret, key, new_key, cloud.link["admin_key"]):
        assert needle not in caplog.text
    assert secret not in repr(device)
    del branch


async def test_given_provisioned_keys_then_the_database_holds_only_their_hashes(
    cloud: Cloud,
) -> None:
    async with cloud.store.db.read() as tx:
        stored = [str(v) for r in await tx.fetch("SELECT * FROM businesses") for v in tuple(r)]
        stored += [str(v) for r in await tx.fetch("SELECT * FROM devices") for v in tuple(r)]
    text = "\n".join(stored)
    assert cloud.link["admin_key"] not in text and cloud.link["device_key"] not in text
    import hashlib

    assert hashlib.sha256(cloud.link["device_key"].encode()).hexdigest() in text


async def test_given_a_revoked_device_then_its_key_and_its_receipts_stop_working(
    cloud: Cloud,
) -> None:
    branch, other_key = await _second_branch(cloud)
    await cloud.post_events([qr_issued("RV-1", 1, START + timedelta(days=1))])
    token = cloud.token("RV-1", 1)
    device_id = cloud.link["device_id"]
    as_device = await cloud.http.delete(f"/v1/devices/{device_id}", headers=cloud.device(other_key))
    assert as_device.status == 403
    resp = await cloud.http.delete(f"/v1/devices/{device_id}", headers=cloud.admin())
    assert resp.status == 200 and (await resp.json())["revoked_at"] is not None
    again = await cloud.http.delete(f"/v1/devices/{device_id}", headers=cloud.admin())
    assert (await again.json())["revoked_at"] == (await resp.json())["revoked_at"]
    sync = await cloud.http.post("/v1/sync/events", json={"events": []}, headers=cloud.device())
    assert sync.status == 401
    claim = await cloud.http.post(f"/v1/claims/{token}")
    assert claim.status == 404 and (await claim.json())["error"]["code"] == "invalid"
    still = await cloud.http.post("/v1/sync/events", json={"events": []},
                                  headers=cloud.device(other_key))  # fmt: skip
    assert still.status == 200
    listed = await (await cloud.http.get("/v1/devices", headers=cloud.admin())).json()
    states = {d["device_id"]: d["revoked_at"] is not None for d in listed["devices"]}
    assert states[device_id] is True and list(states.values()).count(False) == 1
    assert all("secret" not in d and "key" not in str(d) for d in listed["devices"])
    for missing in ("999999", "abc", "0"):
        resp = await cloud.http.delete(f"/v1/devices/{missing}", headers=cloud.admin())
        assert resp.status == 404
    del branch
