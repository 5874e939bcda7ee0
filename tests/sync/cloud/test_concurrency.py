"""Races, on both backends, with two store instances (two connections or pools) on one database
behind two app servers: one claim of a token wins, one redeem of a code wins, and the same batch
sent through both at once lands in the ledger once."""

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from config import load_cloud_settings
from sync.cloud.app import build_cloud_app
from sync.cloud.store import open_store
from tests.clock import START, Clock
from tests.sync.cloud.conftest import Cloud, event, order, qr_issued, start_cloud

Client = TestClient[Any, Any]


@pytest.fixture
async def twins(store_url: str, clock: Clock) -> AsyncIterator[tuple[Cloud, Client]]:
    """A provisioned cloud, and a second app over its own store on the same database."""
    first = await open_store(store_url)
    second = await open_store(store_url)
    http, link = await start_cloud(first, clock)
    settings = load_cloud_settings(None, {})
    other: Client = TestClient(
        TestServer(build_cloud_app(settings, store=second, rng=random.Random(1), clock=clock))
    )
    await other.start_server()
    try:
        yield Cloud(http, first, clock, link, random.Random(7)), other
    finally:
        await http.close()
        await other.close()
        await first.close()
        await second.close()


async def test_given_50_concurrent_claims_of_one_token_then_exactly_one_wins(
    twins: tuple[Cloud, Client],
) -> None:
    cloud, other = twins
    await cloud.post_events([qr_issued("RACE-1", 2, START + timedelta(days=1))])
    token = cloud.token("RACE-1", 2)
    clients = [cloud.http, other] * 25
    answers = await asyncio.gather(*(c.post(f"/v1/claims/{token}") for c in clients))
    statuses = Counter(a.status for a in answers)
    assert statuses == {201: 1, 409: 49}
    async with cloud.store.db.read() as tx:
        assert await tx.fetchval("SELECT COUNT(*) FROM customers") == 1
        assert await tx.fetchval("SELECT COALESCE(SUM(delta), 0) FROM entries") == 2


async def test_given_50_concurrent_claims_before_the_event_then_exactly_one_wins(
    twins: tuple[Cloud, Client],
) -> None:
    cloud, other = twins
    token = cloud.token("RACE-2", 1)
    clients = [cloud.http, other] * 25
    answers = await asyncio.gather(*(c.post(f"/v1/claims/{token}") for c in clients))
    assert Counter(a.status for a in answers) == {201: 1, 409: 49}
    res = await cloud.post_events([qr_issued("RACE-2", 1, START + timedelta(days=1))])
    assert res[0]["status"] == "applied"
    async with cloud.store.db.read() as tx:
        assert await tx.fetchval("SELECT COALESCE(SUM(delta), 0) FROM entries") == 1


async def test_given_concurrent_redeems_of_one_reward_then_exactly_one_passes(
    twins: tuple[Cloud, Client],
) -> None:
    cloud, other = twins
    c = await cloud.customer("race@example.com")
    await cloud.post_events([event("order.stamped", order("G-1", 10, {"card": c["card_code"]}))])
    code = (await cloud.card(c["card_code"]))["rewards"][0]["code"]
    clients = [cloud.http, other] * 15
    answers = await asyncio.gather(
        *(x.post(f"/v1/vouchers/{code}/redeem", headers=cloud.admin()) for x in clients)
    )
    assert Counter(a.status for a in answers) == {200: 1, 409: 29}
    codes = {(await a.json())["error"]["code"] for a in answers if a.status == 409}
    assert codes == {"already_redeemed"}


async def test_given_the_same_batch_through_two_connections_at_once_then_applied_once(
    twins: tuple[Cloud, Client],
) -> None:
    cloud, other = twins
    c = await cloud.customer("batch@example.com")
    card = {"card": c["card_code"]}
    batch = {"events": [event("order.stamped", order(f"P-{i}", 1, card)) for i in range(300)]}
    answers = await asyncio.gather(
        cloud.http.post("/v1/sync/events", json=batch, headers=cloud.device()),
        other.post("/v1/sync/events", json=batch, headers=cloud.device()),
    )
    results = [[r["status"] for r in (await a.json())["results"]] for a in answers]
    for i in range(300):
        assert sorted([results[0][i], results[1][i]]) == ["applied", "duplicate"]
    async with cloud.store.db.read() as tx:
        assert await tx.fetchval("SELECT COUNT(*) FROM events") == 300
        assert await tx.fetchval("SELECT COUNT(*) FROM orders") == 300
    card_now = await cloud.card(c["card_code"])
    assert card_now["balance"] == 0 and len(card_now["rewards"]) == 30


async def test_given_one_event_id_written_twice_then_the_unique_key_keeps_one_row(
    twins: tuple[Cloud, Client],
) -> None:
    """The last line of defence under the per-business lock: the event id is a unique key and
    the ledger insert is ``ON CONFLICT DO NOTHING``."""
    cloud, _ = twins
    row = ("e-1", 1, 1, 1, "order.recorded", "h", "{}", START.isoformat(), 1, 0)
    sql = (
        "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, payload, "
        "device_time, received_us, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    async with cloud.store.db.write(1) as tx:
        await tx.executemany(sql + " ON CONFLICT (id) DO NOTHING", [row, row])
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with cloud.store.db.write(1) as tx:
            await tx.execute(sql, *row)
    async with cloud.store.db.read() as tx:
        assert await tx.fetchval("SELECT COUNT(*) FROM events WHERE id = 'e-1'") == 1


async def test_given_a_burst_of_different_claims_then_each_succeeds_or_fails_on_its_own(
    twins: tuple[Cloud, Client],
) -> None:
    """Claims arriving together are applied together (one group), each with its own answer."""
    cloud, _ = twins
    existing = await cloud.customer("known@example.com")
    tokens = [cloud.token(f"B-{i}", 1) for i in range(30)]
    bodies: list[dict[str, str] | None] = [None] * 30
    bodies[0] = {"card_code": existing["card_code"],
                 "card_sig": await cloud.card_sig(existing["card_code"])}  # fmt: skip
    bodies[1] = {"card_code": "SC0000000000000"}  # no such card: this claim alone fails
    bodies[2] = bodies[3] = {"email": "Fresh@example.com"}  # two claims, one new card
    bodies[4] = {"email": "known@example.com"}  # someone's address: nothing attached (202)
    answers = await asyncio.gather(
        *(cloud.http.post(f"/v1/claims/{t}", json=b) for t, b in zip(tokens, bodies, strict=True)),
        cloud.http.post(f"/v1/claims/{tokens[5]}"),  # the same token twice in the burst
    )
    statuses = [a.status for a in answers]
    assert statuses[1] == 404 and statuses[4] == 202 and sorted(statuses[5::25]) == [201, 409]
    assert statuses.count(201) == 28
    body = [await a.json() for a in answers]
    # an address not yet proven attaches nothing: each claim has its own card until the
    # mailed link (issue #19) puts the address on one and merges the other into it
    assert body[2]["card_code"] != body[3]["card_code"]
    assert (await cloud.card(body[2]["card_code"]))["email"] is None
    assert body[0]["card_code"] == existing["card_code"] and "card_code" not in body[4]
    assert (await cloud.card(existing["card_code"]))["balance"] == 1
    async with cloud.store.db.read() as tx:
        # 1 existing + 2 new for the unproven address + 25 single new cards (tokens 5..29)
        assert await tx.fetchval("SELECT COUNT(*) FROM customers") == 28
        assert await tx.fetchval("SELECT COUNT(DISTINCT number) FROM customers") == 28
