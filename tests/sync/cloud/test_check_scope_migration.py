"""A v9 store (order ids unique per branch) upgrades to order ids unique per device and till
(issue #14), on SQLite and PostgreSQL: each existing check keeps its meaning (its till's void
finds it, its till cannot record its id again), and other tills may now use the same id."""

import json
import random
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.book import to_us
from sync.cloud.models import ProgramConfig
from sync.cloud.store import book_io, open_db, open_store, tenancy
from sync.cloud.store.schema import migrations
from sync.contract.events import payload_hash
from tests.clock import START, Clock
from tests.sync.cloud.conftest import event, order

V9 = 9  # the last schema where an order id was unique per branch


async def _v9_store(url: str) -> dict[str, Any]:
    """A v9 database (one check per id and branch) holding checks 1001 at till-1 and 2002 at
    till-2 of one device, both stamped to one card (2 stamps each), and the API's check A-1."""
    db = await open_db(url)
    try:
        assert await db.migrate(migrations(db.dialect)[:V9]) == V9
        async with db.write(0) as tx:
            now = to_us(START)
            business_id, admin_key = await tenancy.create_business(tx, "Old", now)
            program = ProgramConfig(rule="per_order", stamps_per_order=2, goal=50)
            branch = await tenancy.create_branch(tx, business_id, "Main", "UTC", program, now)
            till = await tenancy.create_device(tx, business_id, branch.branch_id, "a", now)
            other = await tenancy.create_device(tx, business_id, branch.branch_id, "b", now)
            card = await book_io.create_customer(
                tx, business_id, email="old@example.com", name=None, now_us=now
            )
            await tx.execute("UPDATE customers SET balance = 4 WHERE id = ?", card.customer_id)
            checks = [("1001", "till-1", till.device_id), ("2002", "till-2", till.device_id),
                      ("A-1", None, None)]  # fmt: skip
            for n, (oid, where, dev) in enumerate(checks):
                extra = {} if where is None else {"till": where}
                payload = order(oid, 2, {"card": card.card_code}, **extra)
                eid = f"0190b1a2-7c3d-7e4f-8a5b-6c7d8e9f0a1{n}"
                await tx.execute(
                    "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, "
                    "payload, device_time, received_us, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    eid, business_id, branch.branch_id, dev, "order.stamped",
                    payload_hash("order.stamped", payload), json.dumps(payload),
                    START.isoformat(), now, n,
                )  # fmt: skip
                await tx.execute(
                    "INSERT INTO orders (business_id, branch_id, order_id, device_id, kind, "
                    "total, stamps, credited, customer_id, order_ref, voided, event_id, at_us, "
                    "voided_us) VALUES (?, ?, ?, ?, 'stamped', '12.50', 2, 2, ?, NULL, 0, ?, ?, "
                    "NULL)",
                    business_id, branch.branch_id, oid, dev, card.customer_id, eid, now,
                )  # fmt: skip
    finally:
        await db.close()
    return {"admin_key": admin_key, "card": card.card_code, "till": till, "other": other}


async def test_given_a_v9_store_then_old_checks_keep_their_till_and_other_tills_reuse_ids(
    store_url: str,
) -> None:
    old = await _v9_store(store_url)
    store = await open_store(store_url)
    settings = load_cloud_settings(None, {"cloud": {"database": "sqlite:///unused.db"}})
    app = build_cloud_app(settings, store=store, rng=random.Random(7), clock=Clock(START))
    http: TestClient[Any, Any] = TestClient(TestServer(app))
    await http.start_server()
    try:
        assert store.schema_version == len(migrations(store.dialect)) > V9
        admin = {"Authorization": f"Bearer {old['admin_key']}"}
        till = {"Authorization": f"Bearer {old['till'].device_key}"}
        other = {"Authorization": f"Bearer {old['other'].device_key}"}
        batch = [
            event("order.voided", {"order_id": "1001", "till": "till-1"}),  # its own till's void
            event("order.voided", {"order_id": "2002"}),  # a void as agents before #14 sent it
            event("order.stamped", order("1001", 2, {"card": old["card"]}, till="till-1")),
            event("order.stamped", order("1001", 2, {"card": old["card"]}, till="till-3")),
        ]
        resp = await http.post("/v1/sync/events", json={"events": batch}, headers=till)
        results = [(r["status"], r["reason"]) for r in (await resp.json())["results"]]
        assert results == [
            ("applied", None),
            ("applied", None),
            ("rejected", "order_id already recorded at this till"),
            ("applied", None),
        ]
        resp = await http.post(
            "/v1/sync/events",
            json={"events": [
                event("order.stamped", order("1001", 2, {"card": old["card"]}, till="till-1")),
                event("order.voided", {"order_id": "2002", "till": "till-2"}),
            ]},
            headers=other,
        )  # fmt: skip
        results = [(r["status"], r["reason"]) for r in (await resp.json())["results"]]
        assert results == [("applied", None), ("rejected", "unknown order")]
        card = await (await http.get(f"/v1/cards/{old['card']}", headers=admin)).json()
        assert card["balance"] == 4 - 2 - 2 + 2 + 2  # two voids, two new checks
        stamp = {"order_id": "A-1", "customer": {"card": old["card"]}, "total": "12.50"}
        resp = await http.post("/v1/stamps", json=stamp, headers=admin)
        assert resp.status == 409, await resp.text()  # the API channel's A-1 is still there
    finally:
        await http.close()
        await store.close()
