"""An existing database upgrades on open: a v4 store with a ledger in it (orders, receipt QRs,
entries, rewards) opens as the current version with the same figures and the same behaviour,
on SQLite and on PostgreSQL."""

import json
import random
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.book import to_us
from sync.cloud.models import ProgramConfig
from sync.cloud.store import book_io, open_db, open_store, tenancy
from sync.cloud.store.schema import migrations
from sync.contract import claim_token
from sync.contract.events import payload_hash
from tests.clock import START, Clock
from tests.sync.cloud.conftest import card_sig, event, order

T1 = START  # 21:00 in Tokyo on the 23rd
T2 = START + timedelta(hours=4)  # 01:00 in Tokyo on the 24th
T3 = START + timedelta(hours=5)


async def _v4_store_with_a_ledger(url: str) -> dict[str, Any]:
    """A database at schema v4 holding what the v4 code wrote for a small day of trade."""
    db = await open_db(url)
    try:
        assert await db.migrate(migrations(db.dialect)[:4]) == 4
        async with db.write(0) as tx:
            now = to_us(T1)
            business_id, admin_key = await tenancy.create_business(tx, "Old", now)
            program = ProgramConfig(rule="per_order", goal=10)
            tokyo = await tenancy.create_branch(
                tx, business_id, "Tokyo", "Asia/Tokyo", program, now
            )
            other = await tenancy.create_branch(
                tx, business_id, "Osaka", "Asia/Tokyo", program, now
            )
            till = await tenancy.create_device(tx, business_id, tokyo.branch_id, "till", now)
            kiosk = await tenancy.create_device(tx, business_id, tokyo.branch_id, "kiosk", now)
            osaka = await tenancy.create_device(tx, business_id, other.branch_id, "osaka", now)
            card = await book_io.create_customer(
                tx, business_id, email="old@example.com", name=None, now_us=now
            )
            await tx.execute("UPDATE customers SET balance = 3 WHERE id = ?", card.customer_id)
            branch, d1, d2 = tokyo.branch_id, till.device_id, kiosk.device_id
            o1 = order("O-1", 2, {"card": card.card_code})
            await tx.execute(
                "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, payload, "
                "device_time, received_us, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "0190b1a2-7c3d-7e4f-8a5b-6c7d8e9f0a1b", business_id, branch, d1,
                "order.stamped", payload_hash("order.stamped", o1), json.dumps(o1),
                T1.isoformat(), to_us(T1), 0,
            )  # fmt: skip
            ref2, ref3 = claim_token.order_ref("O-2"), claim_token.order_ref("O-3")
            orders = [  # O-1 stamped at the till; O-2 a QR at the kiosk, voided; O-3 a QR, open
                ("O-1", d1, "stamped", 2, 2, card.customer_id, None, 0, T1, None),
                ("O-2", d2, "qr", 1, 0, None, ref2, 1, T2, T3),
                ("O-3", d1, "qr", 1, 0, None, ref3, 0, T1, None),
            ]
            for oid, dev, kind, stamps, credited, cid, ref, voided, at, voided_at in orders:
                await tx.execute(
                    "INSERT INTO orders (business_id, branch_id, order_id, device_id, kind, "
                    "total, stamps, credited, customer_id, order_ref, voided, event_id, at_us, "
                    "voided_us) VALUES (?, ?, ?, ?, ?, '12.50', ?, ?, ?, ?, ?, 'e', ?, ?)",
                    business_id, branch, oid, dev, kind, stamps, credited, cid, ref, voided,
                    to_us(at), None if voided_at is None else to_us(voided_at),
                )  # fmt: skip
            qrs = [  # the last one claimed by a phone before its order arrived
                (d2, ref2, "O-2", "cancelled", None, T2, None),
                (d1, ref3, "O-3", "open", None, T1, None),
                (d2, claim_token.order_ref("O-9"), None, "claimed", card.customer_id, None, T2),
            ]
            for dev, ref, oid, state, cid, issued, claimed in qrs:
                await tx.execute(
                    "INSERT INTO receipt_qrs (device_id, order_ref, business_id, branch_id, "
                    "order_id, stamps, expires_us, state, customer_id, issued_us, claimed_us) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                    dev, ref, business_id, branch, oid, to_us(T1 + timedelta(days=30)), state,
                    cid, None if issued is None else to_us(issued),
                    None if claimed is None else to_us(claimed),
                )  # fmt: skip
            entries = [(d1, 2, "order", T1), (d2, 1, "qr_claim", T2), (d2, -1, "void", T3)]
            for dev, delta, kind, at in entries:
                await tx.execute(
                    "INSERT INTO entries (business_id, branch_id, device_id, customer_id, delta, "
                    "kind, order_id, event_id, at_us) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                    business_id, branch, dev, card.customer_id, delta, kind, to_us(at),
                )  # fmt: skip
            await tx.execute(
                "INSERT INTO rewards (code, business_id, branch_id, device_id, customer_id, kind, "
                "name, source, state, issued_us, valid_from_us, expires_us, redeemed_us, "
                "redeemed_by, event_id) VALUES ('AAAA-BBBB-CCCC', ?, ?, ?, ?, 'gift', 'Gift', "
                "'goal', 'redeemed', ?, ?, NULL, ?, ?, NULL)",
                business_id, branch, d1, card.customer_id, to_us(T2), to_us(T2), to_us(T3), d2,
            )  # fmt: skip
    finally:
        await db.close()
    return {
        "admin_key": admin_key, "branch": branch, "card": card.card_code, "o1": o1,
        "till": till, "osaka": osaka, "d1": d1, "d2": d2,
    }  # fmt: skip


async def test_given_a_v4_database_with_a_ledger_then_it_opens_with_the_same_figures_and_rules(
    store_url: str,
) -> None:
    old = await _v4_store_with_a_ledger(store_url)
    store = await open_store(store_url)
    clock = Clock(T3 + timedelta(hours=1))
    settings = load_cloud_settings(None, {"cloud": {"database": "sqlite:///unused.db"}})
    app = build_cloud_app(settings, store=store, rng=random.Random(7), clock=clock)
    http: TestClient[Any, Any] = TestClient(TestServer(app))
    await http.start_server()
    try:
        assert store.schema_version == len(migrations(store.dialect))
        admin = {"Authorization": f"Bearer {old['admin_key']}"}
        resp = await http.get("/v1/stats", headers=admin,
                              params={"branch": old["branch"], "from": "2026-11-23",
                                      "to": "2026-11-24"})  # fmt: skip
        assert resp.status == 200, await resp.text()
        stats = await resp.json()
        zero = {"orders": 0, "voids": 0, "stamps": 0, "qr_issued": 0, "qr_claimed": 0,
                "rewards_issued": 0, "rewards_redeemed": 0}  # fmt: skip
        day1 = {**zero, "orders": 2, "stamps": 2, "qr_issued": 1}
        day2 = {**zero, "orders": 1, "voids": 1, "stamps": 1, "qr_issued": 1, "qr_claimed": 1,
                "rewards_issued": 1, "rewards_redeemed": 1}  # fmt: skip
        assert [{k: d[k] for k in zero} for d in stats["days"]] == [day1, day2]
        per_device = {d["device_id"]: d["total"] for d in stats["devices"]}
        assert per_device[old["d1"]] == {**zero, "orders": 2, "stamps": 2, "qr_issued": 1,
                                         "rewards_issued": 1}  # fmt: skip
        assert per_device[old["d2"]] == {**zero, "orders": 1, "voids": 1, "stamps": 1,
                                         "qr_issued": 1, "qr_claimed": 1,
                                         "rewards_redeemed": 1}  # fmt: skip

        till = {"Authorization": f"Bearer {old['till'].device_key}"}
        resent = event("order.stamped", old["o1"], eid="0190b1a2-7c3d-7e4f-8a5b-6c7d8e9f0a1b",
                       device_time=T1)  # fmt: skip
        void = event("order.voided", {"order_id": "O-1"})
        again = event("order.recorded", order("O-3", 1))
        resp = await http.post("/v1/sync/events", json={"events": [resent, void, again]},
                               headers=till)  # fmt: skip
        results = (await resp.json())["results"]
        assert [(r["status"], r["reason"]) for r in results] == [
            ("duplicate", None),
            ("applied", None),
            ("rejected", "order_id already recorded at this till"),
        ]
        card = await (await http.get(f"/v1/cards/{old['card']}", headers=admin)).json()
        assert card["balance"] == 1  # the void took back O-1's two stamps

        osaka = {"Authorization": f"Bearer {old['osaka'].device_key}"}
        resp = await http.post(
            "/v1/sync/events",
            json={"events": [event("order.voided", {"order_id": "O-2"}),
                             event("order.recorded", order("O-1"))]},
            headers=osaka,
        )  # fmt: skip
        results = (await resp.json())["results"]
        assert [(r["status"], r["reason"]) for r in results] == [
            ("rejected", "the order belongs to another branch"),
            ("applied", None),
        ]

        token, _ = claim_token.mint(secret=old["till"].device_secret, device_id=old["d1"],
                                    order_id="O-3", stamps=1, now=T1, ttl_hours=720)  # fmt: skip
        proof = {"card_code": old["card"], "card_sig": await card_sig(store, old["card"])}
        claimed = await http.post(f"/v1/claims/{token}", json=proof)
        assert claimed.status == 201, await claimed.text()
        assert (await claimed.json())["balance"] == 2
        kiosk_token = await _kiosk_token(store, old["d2"], "O-2")
        voided = await http.post(f"/v1/claims/{kiosk_token}", json={})
        assert voided.status == 410 and (await voided.json())["error"]["code"] == "voided"
    finally:
        await http.close()
        await store.close()


async def _kiosk_token(store: Any, device_id: int, order_id: str) -> str:
    device = await store.device(device_id)
    assert device is not None
    text, _ = claim_token.mint(secret=device.secret, device_id=device_id, order_id=order_id,
                               stamps=1, now=T2, ttl_hours=720)  # fmt: skip
    return text
