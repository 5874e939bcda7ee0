"""PostgreSQL group commit: a group never waits whole for a business another transaction holds.

Under load every group of batches names some business another group (of this process or of
another cloud process on the same database) has locked; when a group waited for all its
businesses' locks, the groups ran one after another across the whole fleet. Now a group waits
only for its first batch's business and takes the others only if free; the batches of a busy
business go back to the queue and are applied by a later transaction, exactly once.
"""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from sync.cloud.provision import init_business
from sync.cloud.store import Store, open_store
from sync.cloud.store.tenancy import Principal
from sync.contract.events import BatchResult, Event
from tests.sync.cloud.conftest import event, order

WAITING = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()"
)


@pytest.fixture
async def two(fresh_pg_dsn: str) -> AsyncIterator[tuple[Store, Principal, Principal]]:
    """A store on a fresh PostgreSQL database with two businesses, a device of each."""
    store = await open_store(fresh_pg_dsn)
    try:
        devices = []
        for name in ("A", "B"):
            link = await init_business(store, business=name, branch="M", rule="per_order")
            devices.append(
                Principal("device", link["business_id"], link["branch_id"], link["device_id"])
            )
        yield store, devices[0], devices[1]
    finally:
        await store.close()


def _batch(order_id: str) -> list[Event]:
    return [Event.model_validate(event("order.recorded", order(order_id)))]


async def _until(task: "asyncio.Task[Any]", watch: asyncpg.Connection) -> None:
    """Until ``task`` is done or a transaction waits for an advisory lock."""
    while not task.done() and await watch.fetchval(WAITING) == 0:
        await asyncio.sleep(0.02)


async def test_given_a_business_locked_elsewhere_then_a_group_commits_its_other_batches(
    two: tuple[Store, Principal, Principal], fresh_pg_dsn: str
) -> None:
    """Given business A's lock held by another transaction (another cloud process taking a
    claim, say), when a batch of B and a batch of A arrive together (one group, B first), then
    B's batch is applied and answered while A's lock is still held, and A's once it is free;
    each exactly once."""
    store, a, b = two
    other = await asyncpg.connect(fresh_pg_dsn)
    watch = await asyncpg.connect(fresh_pg_dsn)
    holding = other.transaction()
    await holding.start()
    try:
        await other.execute("SELECT pg_advisory_xact_lock($1)", a.business_id)
        now, rng = datetime.now(UTC), random.Random(1)
        for_b = asyncio.ensure_future(store.apply_events(b, _batch("B-1"), now, rng))
        for_a = asyncio.ensure_future(store.apply_events(a, _batch("A-1"), now, rng))
        # (a guard against a hang, not a measure: B's batch needs nothing A's lock guards)
        made = await asyncio.wait_for(asyncio.shield(for_b), timeout=20)
        assert [r.status for r in made.results] == ["applied"]
        await _until(for_a, watch)  # A's batch, put back, now waits for its lock alone
        assert not for_a.done()
    finally:
        await holding.rollback()
        await other.close()
    answer: BatchResult = await for_a
    assert [r.status for r in answer.results] == ["applied"]
    count = "SELECT business_id, count(*) FROM events GROUP BY business_id"
    assert dict(await watch.fetch(count)) == {a.business_id: 1, b.business_id: 1}
    await watch.close()


async def test_given_a_business_locked_elsewhere_then_other_businesses_claims_go_through(
    fresh_pg_dsn: str,
) -> None:
    """Given business A's lock held by another transaction, when a phone claims a receipt of A
    and another one of B at the same time, then B's claim is made while A's lock is still held
    (the claim queue used to run one business's group after another, so B waited for A), and
    A's once it is free."""
    from sync.cloud.models import ClaimIn
    from sync.contract import claim_token

    store = await open_store(fresh_pg_dsn)
    other = await asyncpg.connect(fresh_pg_dsn)
    watch = await asyncpg.connect(fresh_pg_dsn)
    try:
        now, rng = datetime.now(UTC), random.Random(1)
        tokens, businesses = [], []
        for name in ("A", "B"):
            link = await init_business(store, business=name, branch="M", rule="per_order")
            token, _ = claim_token.mint(
                secret=link["device_secret"], device_id=link["device_id"],
                order_id=f"{name}-1", stamps=2, now=now, ttl_hours=24,
            )  # fmt: skip
            tokens.append(token)
            businesses.append(link["business_id"])
        holding = other.transaction()
        await holding.start()
        try:
            await other.execute("SELECT pg_advisory_xact_lock($1)", businesses[0])
            body = ClaimIn(email="ann@example.com")
            for_a = asyncio.ensure_future(store.claim(tokens[0], body, now, rng))
            for_b = asyncio.ensure_future(store.claim(tokens[1], body, now, rng))
            await _until(for_a, watch)  # A's claim waits for its business's lock
            assert not for_a.done()
            # (a guard against a hang, not a measure: B's claim needs nothing A holds)
            made = await asyncio.wait_for(asyncio.shield(for_b), timeout=20)
            assert made.stamps == 2 and not for_a.done()
        finally:
            await holding.rollback()
        assert (await for_a).stamps == 2
    finally:
        await other.close()
        await watch.close()
        await store.close()
