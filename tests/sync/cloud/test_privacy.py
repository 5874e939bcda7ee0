"""A customer's data-protection requests on both backends: export gives everything kept, erasure
leaves no name, email or card code anywhere in the database (SQLite: the file and its WAL; PG:
every text column) while the shop's figures stay as they were; spent receipt QRs' rows leave
after the retention period."""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from tests.sync.cloud.conftest import Cloud, event, order, qr_issued

NAME = "Annabel Erasmus"
EMAIL = "annabel.erasmus@example.org"
PHONE = "+49309876543"


async def _stats(cloud: Cloud) -> Any:
    resp = await cloud.http.get(
        "/v1/stats", headers=cloud.admin(),
        params={"branch": cloud.link["branch_id"], "from": "2026-06-01", "to": "2027-05-31"},
    )  # fmt: skip
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _found_in_sqlite(path: str, needles: list[str]) -> list[str]:
    def read() -> bytes:
        files = [Path(path), Path(path + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())

    raw = (await asyncio.to_thread(read)).lower()
    return [n for n in needles if n.lower().encode() in raw]


async def _found_in_pg(dsn: str, needles: list[str]) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"
        )
        found = []
        for needle in needles:
            for c in columns:
                hit = await conn.fetchval(
                    f'SELECT 1 FROM "{c["table_name"]}" '
                    f'WHERE lower("{c["column_name"]}") LIKE $1 LIMIT 1',
                    f"%{needle.lower()}%",
                )
                if hit:
                    found.append(f"{needle} in {c['table_name']}.{c['column_name']}")
        return found
    finally:
        await conn.close()


async def _given_a_customer_with_checks(cloud: Cloud) -> dict[str, Any]:
    resp = await cloud.http.post(
        "/v1/customers",
        json={"email": EMAIL, "name": NAME, "phone": "+49 30 9876543"},
        headers=cloud.admin(),
    )
    assert resp.status == 201, await resp.text()
    customer = await resp.json()
    code = customer["card_code"]
    await cloud.post_events([
        event("order.stamped", order("E-1", 2, {"email": "Annabel.Erasmus@Example.ORG"})),
        event("order.stamped", order("E-2", 1, {"card": code.lower()})),
        event("order.stamped", order("E-3", 1, {"number": customer["number"]})),
        event("order.stamped", order("E-4", 1, {"phone": PHONE})),
    ])  # fmt: skip
    return customer


async def test_export_gives_the_customer_their_card_ledger_and_checks(cloud: Cloud) -> None:
    """Given a customer stamped on three checks, when the owner exports them, then the JSON has
    their name, email, card, every ledger entry and check; another business's key gets 404."""
    customer = await _given_a_customer_with_checks(cloud)
    resp = await cloud.http.get(
        f"/v1/customers/{customer['customer_id']}/export", headers=cloud.admin()
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["customer"]["email"] == EMAIL and body["customer"]["name"] == NAME
    assert body["customer"]["card_code"] == customer["card_code"]
    assert body["customer"]["phone"] == PHONE
    assert body["customer"]["balance"] == 5
    assert sorted(e["delta"] for e in body["ledger"]) == [1, 1, 1, 2]
    assert sorted(o["order_id"] for o in body["orders"]) == ["E-1", "E-2", "E-3", "E-4"]
    assert body["rewards"] == [] and body["vouchers"] == [] and body["wallet_passes"] == []
    unknown = await cloud.http.get("/v1/customers/999999/export", headers=cloud.admin())
    assert unknown.status == 404
    assert (await unknown.json())["error"]["code"] == "unknown_customer"
    device = await cloud.http.get(
        f"/v1/customers/{customer['customer_id']}/export", headers=cloud.device()
    )
    assert device.status == 403


async def test_erasure_leaves_no_personal_data_and_the_figures_stay(
    cloud: Cloud, store_url: str
) -> None:
    """Given a customer stamped on checks that named them by email, card code and number, when
    the owner erases them (twice), then their name, email and card code are nowhere in the
    database, tills' card caches are told, look-ups find nothing, and /v1/stats is unchanged."""
    customer = await _given_a_customer_with_checks(cloud)
    before = await _stats(cloud)
    assert sum(d["orders"] for d in before["days"]) == 4
    cid = customer["customer_id"]
    await cloud.store.db.forget_old_versions()  # the rows are in the database file itself

    first = await cloud.http.delete(f"/v1/customers/{cid}", headers=cloud.admin())
    assert first.status == 200, await first.text()
    audit = await first.json()
    assert audit["customer_id"] == cid and audit["erased"] is True
    assert audit["requested_by"] == "admin_key" and audit["events_scrubbed"] == 4
    again = await cloud.http.delete(f"/v1/customers/{cid}", headers=cloud.admin())
    assert again.status == 200 and await again.json() == audit

    assert await _stats(cloud) == before
    needles = [NAME, EMAIL, PHONE, customer["card_code"]]
    if store_url.startswith("sqlite"):
        found = await _found_in_sqlite(store_url.removeprefix("sqlite:///"), needles)
    else:
        found = await _found_in_pg(store_url, needles)
    assert found == []

    for q in (EMAIL, customer["card_code"], customer["number"], "Annabel", PHONE):
        resp = await cloud.http.get("/v1/customers", params={"q": q}, headers=cloud.admin())
        assert (await resp.json())["customers"] == []
    state = await cloud.http.get("/v1/sync/state", headers=cloud.device())
    cards = {c["customer_id"]: c for c in (await state.json())["cards"]}
    assert cards[cid]["erased"] is True
    assert cards[cid]["email"] is None and cards[cid]["name"] is None
    export = await (await cloud.http.get(f"/v1/customers/{cid}/export",
                                         headers=cloud.admin())).json()  # fmt: skip
    assert export["customer"]["email"] is None and export["customer"]["name"] is None
    assert export["customer"]["phone"] is None
    assert len(export["ledger"]) == 4  # the stamps stay counted, on nobody


async def test_expired_receipt_qrs_leave_after_the_retention_period_and_stay_refused(
    cloud: Cloud,
) -> None:
    """Given a receipt QR whose token expired 31 days ago and one still valid, when the cloud's
    housekeeping prunes at 30 days, then only the expired one's row goes, its token is still
    refused as expired (410), and /v1/stats counts both QRs as before."""
    now = cloud.clock.now
    old_at = now - timedelta(days=32)
    await cloud.post_events([
        qr_issued("Q-OLD", 1, old_at + timedelta(hours=24), device_time=old_at),
        qr_issued("Q-NEW", 1, now + timedelta(hours=24)),
    ])  # fmt: skip
    before = await _stats(cloud)
    old_token = cloud.token("Q-OLD", 1, at=old_at)

    assert await cloud.store.prune_claims(now, 30) == 1

    async with cloud.store.db.read() as tx:
        left = await tx.fetch("SELECT order_id FROM receipt_qrs")
    assert [r["order_id"] for r in left] == ["Q-NEW"]
    resp = await cloud.http.post(f"/v1/claims/{old_token}", json={})
    assert resp.status == 410 and (await resp.json())["error"]["code"] == "expired"
    assert await _stats(cloud) == before
    assert await cloud.store.prune_claims(now, 30) == 0
