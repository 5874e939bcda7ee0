"""PostgreSQL: the store has the ledger's tables analyzed as it grows, instead of planning on an
empty table's statistics until autovacuum's first ANALYZE (a minute or more away)."""

import asyncio
import random
from datetime import UTC, datetime

import asyncpg

from sync.cloud.provision import init_business
from sync.cloud.store import open_store
from sync.cloud.store.postgres import ANALYZE_FIRST
from sync.cloud.store.tenancy import Principal
from sync.contract.events import Event
from tests.sync.cloud.conftest import event, order

ANALYZED = (
    "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
    "WHERE relname IN ('events', 'orders')"
)


async def test_given_a_fast_growing_ledger_then_its_tables_are_analyzed(
    fresh_pg_dsn: str,
) -> None:
    store = await open_store(fresh_pg_dsn)
    watch = await asyncpg.connect(fresh_pg_dsn)
    try:
        for table in ("events", "orders"):  # only the store's own ANALYZE may count here
            await watch.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        now = datetime.now(UTC)
        link = await init_business(store, business="B", branch="M", rule="per_order", now=now)
        device = Principal("device", link["business_id"], link["branch_id"], link["device_id"])
        rng = random.Random(1)
        written = 0
        while written < ANALYZE_FIRST:
            if written == ANALYZE_FIRST - 500:  # not yet: nothing analyzed
                assert dict(await watch.fetch(ANALYZED)) == {"events": False, "orders": False}
            batch = [
                Event.model_validate(event("order.recorded", order(f"O-{written + i}")))
                for i in range(500)
            ]
            result = await store.apply_events(device, batch, now, rng)
            assert {r.status for r in result.results} == {"applied"}
            written += len(batch)
        for _ in range(200):
            if set(dict(await watch.fetch(ANALYZED)).values()) == {True}:
                break
            await asyncio.sleep(0.05)
        assert dict(await watch.fetch(ANALYZED)) == {"events": True, "orders": True}
        rows = await watch.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'orders'")
        assert rows >= ANALYZE_FIRST  # the planner now knows the branch's orders are many
    finally:
        await watch.close()
        await store.close()
