"""The store contract, run on SQLite and on PostgreSQL through the real HTTP API: the ledger's
event semantics, balances derived from ledger entries, and the sync state with its cursor."""

import uuid
from datetime import timedelta
from typing import Any

from sync.cloud.store import Store, open_db, open_store
from sync.cloud.store.schema import migrations
from tests.clock import START
from tests.sync.cloud.conftest import Cloud, event, order, qr_issued


async def ledger_ids(store: Store) -> list[str]:
    async with store.db.read() as tx:
        return [r["id"] for r in await tx.fetch("SELECT id FROM events ORDER BY received_us, pos")]


async def entries_sum(store: Store, customer_id: str) -> int:
    async with store.db.read() as tx:
        got = await tx.fetchval(
            "SELECT COALESCE(SUM(delta), 0) FROM entries WHERE customer_id = ?", int(customer_id)
        )
    return int(got)


async def test_given_a_batch_then_each_event_is_applied_duplicate_or_rejected_in_order(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("ann@example.com")
    first = event("order.stamped", order("A-1", 2, {"card": c["card_code"]}))
    results = await cloud.post_events([first])
    assert [r["status"] for r in results] == ["applied"]
    changed = {**first, "payload": {**first["payload"], "stamps": 3}}
    again = await cloud.post_events([first, changed, event("order.stamped", order("A-2"))])
    assert [r["status"] for r in again] == ["duplicate", "rejected", "rejected"]
    assert "another payload" in again[1]["reason"]
    assert again[2]["reason"] == "order.stamped needs a customer"
    assert await ledger_ids(cloud.store) == [first["id"]]
    assert (await cloud.card(c["card_code"]))["balance"] == 2


async def test_given_unknown_card_or_number_then_rejected_and_unknown_email_enrols(
    cloud: Cloud,
) -> None:
    results = await cloud.post_events(
        [
            event("order.stamped", order("B-1", 1, {"card": "SC0000000000000"})),
            event("order.stamped", order("B-2", 1, {"number": "123456"})),
            event("order.stamped", order("B-3", 2, {"email": "New@Example.com"})),
            event("scan.stamped", {"scan_id": "s1", "stamps": 1, "customer": {"card": "nope"}}),
            event("nonsense.type", {}),
            event("order.voided", {"order_id": "never-seen"}),
            event("order.stamped", {"order_id": "B-4"}),
        ]
    )
    assert [(r["status"], r["reason"]) for r in results[:4]] == [
        ("rejected", "unknown card"),
        ("rejected", "unknown card number"),
        ("applied", None),
        ("rejected", "unknown card"),
    ]
    assert results[4]["reason"].startswith("malformed")
    assert results[5]["reason"] == "unknown order"
    assert results[6]["reason"].startswith("malformed")
    resp = await cloud.http.get("/v1/customers", params={"q": "new@example.com"},
                                headers=cloud.admin())  # fmt: skip
    found = (await resp.json())["customers"]
    assert len(found) == 1 and found[0]["balance"] == 2 and len(found[0]["number"]) == 6


async def test_given_qr_issued_then_claim_credits_once_and_second_claim_is_refused(
    cloud: Cloud,
) -> None:
    token = cloud.token("Q-1", 3)
    await cloud.post_events([qr_issued("Q-1", 3, START + timedelta(days=30))])
    resp = await cloud.http.post(f"/v1/claims/{token}")
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["stamps"] == 3 and body["new_card"] and body["balance"] == 3
    assert body["goal"] == 10 and len(body["number"]) == 6
    again = await cloud.http.post(f"/v1/claims/{token.lower()}")
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "already_claimed"
    assert await entries_sum(cloud.store, body["customer_id"]) == 3


async def test_given_claim_before_the_event_then_the_later_event_does_not_credit_again(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("early@example.com")
    token = cloud.token("Q-2", 2)
    proof = {"card_code": c["card_code"], "card_sig": await cloud.card_sig(c["card_code"])}
    resp = await cloud.http.post(f"/v1/claims/{token}", json=proof)
    assert resp.status == 201 and (await resp.json())["balance"] == 2
    results = await cloud.post_events([qr_issued("Q-2", 2, START + timedelta(days=30))])
    assert results[0]["status"] == "applied"
    assert (await cloud.card(c["card_code"]))["balance"] == 2
    # the order now knows its customer: a void takes the claimed stamps back
    await cloud.post_events([event("order.voided", {"order_id": "Q-2"})])
    assert (await cloud.card(c["card_code"]))["balance"] == 0
    assert await entries_sum(cloud.store, c["customer_id"]) == 0


async def test_given_autopilot_attach_then_qr_is_dead_and_attach_after_claim_is_rejected(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("auto@example.com")
    exp = START + timedelta(days=30)
    await cloud.post_events([qr_issued("Q-3", 2, exp), qr_issued("Q-4", 1, exp)])
    attach = await cloud.post_events(
        [event("order.attached", {"order_id": "Q-3", "customer": {"card": c["card_code"]}})]
    )
    assert attach[0]["status"] == "applied"
    resp = await cloud.http.post(f"/v1/claims/{cloud.token('Q-3', 2)}")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "already_claimed"
    claimed = await cloud.http.post(f"/v1/claims/{cloud.token('Q-4', 1)}")
    assert claimed.status == 201
    late = await cloud.post_events(
        [event("order.attached", {"order_id": "Q-4", "customer": {"card": c["card_code"]}})]
    )
    assert (late[0]["status"], late[0]["reason"]) == ("rejected", "already claimed")
    assert (await cloud.card(c["card_code"]))["balance"] == 2


async def test_given_a_recorded_order_then_attach_credits_its_stamps(cloud: Cloud) -> None:
    c = await cloud.customer(name="Rec")
    await cloud.post_events([event("order.recorded", order("R-1", 4))])
    res = await cloud.post_events(
        [event("order.attached", {"order_id": "R-1", "customer": {"number": c["number"]}})]
    )
    assert res[0]["status"] == "applied"
    assert (await cloud.card(c["card_code"]))["balance"] == 4


async def test_given_a_voided_order_then_its_unclaimed_qr_cannot_be_claimed(cloud: Cloud) -> None:
    await cloud.post_events([qr_issued("Q-5", 2, START + timedelta(days=30))])
    await cloud.post_events([event("order.voided", {"order_id": "Q-5", "reason": "refund"})])
    resp = await cloud.http.post(f"/v1/claims/{cloud.token('Q-5', 2)}")
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "voided"


async def test_given_void_after_a_reward_then_balance_stops_at_zero_and_reward_stays(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("void@example.com")
    card = {"card": c["card_code"]}
    await cloud.post_events([event("order.stamped", order("V-1", 8, card)),
                             event("order.stamped", order("V-2", 4, card))])  # fmt: skip
    after = await cloud.card(c["card_code"])
    assert after["balance"] == 2 and len(after["rewards"]) == 1
    code = after["rewards"][0]["code"]
    redeemed = await cloud.http.post(f"/v1/vouchers/{code}/redeem", headers=cloud.admin())
    assert redeemed.status == 200
    await cloud.post_events([event("order.voided", {"order_id": "V-2"})])
    now = await cloud.card(c["card_code"])
    assert now["balance"] == 0  # took back 2 of the 4, never below zero
    assert now["rewards"][0]["state"] == "redeemed"
    assert await entries_sum(cloud.store, c["customer_id"]) == 0
    twice = await cloud.post_events([event("order.voided", {"order_id": "V-2"})])
    assert twice[0]["status"] == "applied"
    assert (await cloud.card(c["card_code"]))["balance"] == 0


async def test_given_scans_then_stamps_land_and_balance_equals_ledger_sum(cloud: Cloud) -> None:
    c = await cloud.customer("scan@example.com")
    ref = {"card": c["card_code"].lower()}
    scans = [
        event("scan.stamped", {"scan_id": f"k{i}", "stamps": 3, "customer": ref}) for i in range(5)
    ]
    assert {r["status"] for r in await cloud.post_events(scans)} == {"applied"}
    card = await cloud.card(c["card_code"])
    assert card["balance"] == 5 and len(card["rewards"]) == 1
    assert await entries_sum(cloud.store, c["customer_id"]) == card["balance"]


async def test_given_device_times_out_of_order_then_ledger_is_in_receive_order(
    cloud: Cloud,
) -> None:
    late = event("order.recorded", order("T-1"), device_time=START + timedelta(days=3))
    early = event("order.recorded", order("T-2"), device_time=START - timedelta(days=3))
    await cloud.post_events([late])
    cloud.clock.advance(seconds=1)
    await cloud.post_events([early])
    assert await ledger_ids(cloud.store) == [late["id"], early["id"]]


async def test_given_cards_change_then_sync_state_pages_them_by_cursor(cloud: Cloud) -> None:
    made = [await cloud.customer(f"c{i}@example.com") for i in range(3)]
    resp = await cloud.http.get("/v1/sync/state", params={"cursor": "0"}, headers=cloud.device())
    state = await resp.json()
    assert [c["card_code"] for c in state["cards"]] == [m["card_code"] for m in made]
    assert state["program"]["goal"] == 10 and state["program"]["version"] == 1
    cursor = state["cursor"]
    await cloud.post_events(
        [event("order.stamped", order("S-1", 1, {"card": made[1]["card_code"]}))]
    )
    await cloud.set_program(rule="by_amount", step="5", goal=8)
    resp = await cloud.http.get("/v1/sync/state", params={"cursor": cursor}, headers=cloud.device())
    state = await resp.json()
    assert [(c["card_code"], c["balance"]) for c in state["cards"]] == [(made[1]["card_code"], 1)]
    assert state["program"]["version"] == 2 and state["program"]["goal"] == 8
    resp = await cloud.http.get("/v1/sync/state", params={"cursor": state["cursor"]},
                                headers=cloud.device())  # fmt: skip
    assert (await resp.json())["cards"] == []


async def test_given_customers_then_lookup_by_code_number_email_and_name(cloud: Cloud) -> None:
    ann = await cloud.customer("ann@example.com", "Ann Smith")
    await cloud.customer("bob@example.com", "Bob")
    for q in (ann["card_code"], ann["number"], "ANN@example.com", "smi"):
        resp = await cloud.http.get("/v1/customers", params={"q": q}, headers=cloud.device())
        found: list[dict[str, Any]] = (await resp.json())["customers"]
        assert [f["customer_id"] for f in found] == [ann["customer_id"]], q
    dup = await cloud.http.post("/v1/customers", json={"email": "ann@example.com"},
                                headers=cloud.admin())  # fmt: skip
    assert dup.status == 409


async def test_given_api_stamps_then_rule_applies_and_same_order_is_idempotent(
    cloud: Cloud,
) -> None:
    c = await cloud.customer("api@example.com")
    await cloud.set_program(rule="by_amount", step="10", goal=10)
    body = {"order_id": "CRM-1", "total": "23.50", "customer": {"email": "api@example.com"}}
    first = await cloud.http.post("/v1/stamps", json=body, headers=cloud.admin())
    assert first.status == 201 and (await first.json())["stamps"] == 2
    again = await cloud.http.post("/v1/stamps", json=body, headers=cloud.admin())
    assert again.status == 200 and (await again.json())["replay"] is True
    other = await cloud.http.post("/v1/stamps", json={**body, "total": "99"}, headers=cloud.admin())
    assert other.status == 409
    assert (await cloud.card(c["card_code"]))["balance"] == 2


async def test_given_a_v1_database_then_opening_upgrades_it_once(store_url: str) -> None:
    db = await open_db(store_url)
    try:
        assert await db.migrate(migrations(db.dialect)[:1]) == 1
        async with db.write(0) as tx:
            await tx.execute(
                "INSERT INTO businesses (name, admin_key_hash, created_us) VALUES ('Old', 'x', 0)"
            )
    finally:
        await db.close()
    for _ in range(2):
        store = await open_store(store_url)
        try:
            latest = len(migrations(store.dialect))
            assert store.schema_version == latest
            async with store.db.read() as tx:
                assert await tx.fetchval("SELECT COUNT(*) FROM schema_migrations") == latest
            assert await store.business_name(1) == "Old"
        finally:
            await store.close()


async def test_given_a_card_then_its_link_key_is_stable_and_per_business(cloud: Cloud) -> None:
    from sync.cloud.errors import NotFound
    from sync.cloud.provision import init_business

    mine = await cloud.customer("k@example.com")
    key = await cloud.store.card_link_key(mine["card_code"].lower())
    assert len(key) == 32 and key == await cloud.store.card_link_key(mine["card_code"])
    other = await init_business(cloud.store, business="Other", branch="O", rule="per_order")
    auth = {"Authorization": f"Bearer {other['admin_key']}"}
    resp = await cloud.http.post("/v1/customers", json={}, headers=auth)
    theirs = (await resp.json())["card_code"]
    assert await cloud.store.card_link_key(theirs) != key
    try:
        await cloud.store.card_link_key("SC0000000000000")
    except NotFound:
        pass
    else:
        raise AssertionError("an unknown card has no link key")
    assert await cloud.store.business_name(cloud.link["business_id"]) == "Cafe"


async def test_given_event_ids_as_uuid_text_then_the_ledger_key_is_the_id(cloud: Cloud) -> None:
    eid = str(uuid.uuid4())
    e = event("order.recorded", order("U-1"), eid=eid)
    assert [r["status"] for r in await cloud.post_events([e, e])] == ["applied", "duplicate"]
    assert await ledger_ids(cloud.store) == [eid]


async def test_given_more_cards_than_a_page_then_sync_state_says_more(cloud: Cloud) -> None:
    from sync.cloud.store.tenancy import Principal

    who = Principal("admin", cloud.link["business_id"])
    for i in range(505):
        await cloud.store.create_customer(who, f"p{i}@example.com", None, START)
    pages, cursor = [], 0
    while True:
        resp = await cloud.http.get("/v1/sync/state", params={"cursor": cursor},
                                    headers=cloud.device())  # fmt: skip
        state = await resp.json()
        pages.append(len(state["cards"]))
        cursor = state["cursor"]
        if not state["more"]:
            break
    assert pages == [500, 5]
    bad = await cloud.http.get("/v1/sync/state", params={"cursor": "-1"}, headers=cloud.device())
    assert bad.status == 422


async def test_given_many_changes_in_one_batch_then_every_row_is_updated(cloud: Cloud) -> None:
    """Many-row updates (orders voided, QRs cancelled or filled in, balances) in one batch."""
    cards = [await cloud.customer(f"m{i}@example.com") for i in range(3)]
    exp = START + timedelta(days=1)
    stamped = [event("order.stamped", order(f"MV-{i}", 2, {"card": c["card_code"]}))
               for i, c in enumerate(cards)]  # fmt: skip
    await cloud.post_events(stamped + [qr_issued(f"MQ-{i}", 1, exp) for i in range(3)])
    early = [cloud.token(f"ME-{i}", 1) for i in range(3)]
    for i, t in enumerate(early):
        code = cards[i]["card_code"]
        proof = {"card_code": code, "card_sig": await cloud.card_sig(code)}
        resp = await cloud.http.post(f"/v1/claims/{t}", json=proof)
        assert resp.status == 201
    voids = [event("order.voided", {"order_id": f"M{k}-{i}"}) for k in "VQ" for i in range(3)]
    res = await cloud.post_events(voids + [qr_issued(f"ME-{i}", 1, exp) for i in range(3)])
    assert {r["status"] for r in res} == {"applied"}
    for c in cards:
        assert (await cloud.card(c["card_code"]))["balance"] == 1  # 2 - 2 + 1 claimed
    async with cloud.store.db.read() as tx:
        states = await tx.fetch("SELECT order_ref, state, order_id FROM receipt_qrs")
        assert await tx.fetchval("SELECT COUNT(*) FROM orders WHERE voided = 1") == 6
    by_state = sorted((r["state"], r["order_id"]) for r in states)
    assert by_state == [("cancelled", f"MQ-{i}") for i in range(3)] + [
        ("claimed", f"ME-{i}") for i in range(3)
    ]
