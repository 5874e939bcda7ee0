"""PostgreSQL: what a small sync request costs in statements sent, counted on the real server.

A fleet of tills sends one to three events at a time and pulls its state every minute; each
statement is a round trip (a wake-up of the event loop, a send, a wait) and, inside a batch's
transaction, time its business's lock is held. Counted here: every statement an asyncpg
connection sends (``execute``, ``fetch``, ``fetchrow``, ``fetchval``, ``executemany``), the
pool's reset on release included.
"""

import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from sync.cloud.provision import init_business
from sync.cloud.store import Store, open_store
from sync.cloud.store.figures import tag_of
from sync.cloud.store.tenancy import Principal
from sync.contract.events import Event
from tests.sync.cloud.conftest import event, order

SENDING = ("execute", "fetch", "fetchrow", "fetchval", "executemany")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The text of every statement asyncpg connections send, in order (spied, still sent)."""
    texts: list[str] = []
    for name in SENDING:
        real = getattr(asyncpg.connection.Connection, name)

        def spy(real: Any = real) -> Any:
            async def counted(self: Any, query: str, *args: Any, **kw: Any) -> Any:
                texts.append(query)
                return await real(self, query, *args, **kw)

            return counted

        monkeypatch.setattr(asyncpg.connection.Connection, name, spy())
    yield texts


@pytest.fixture
async def pg(fresh_pg_dsn: str) -> AsyncIterator[tuple[Store, Principal, str]]:
    """A store on a fresh PostgreSQL database, a device of its one business and a card."""
    store = await open_store(fresh_pg_dsn)
    try:
        now = datetime.now(UTC)
        link = await init_business(store, business="B", branch="M", rule="per_order", now=now)
        card = await store.create_customer(
            Principal("admin", link["business_id"]), "ann@example.com", None, now
        )
        device = Principal("device", link["business_id"], link["branch_id"], link["device_id"])
        yield store, device, card.card_code
    finally:
        await store.close()


def _batch(n: int, card: str) -> list[Event]:
    return [
        Event.model_validate(event("order.stamped", order(f"S-{n}", 1, {"card": card}))),
        Event.model_validate(event("order.recorded", order(f"R-{n}"))),
    ]


async def test_given_a_small_batch_then_five_statements_reach_postgresql(
    pg: tuple[Store, Principal, str], sent: list[str]
) -> None:
    """Given a warm store (its statements prepared), when a till sends an identified check and
    a check without a customer, then five statements go to PostgreSQL: BEGIN with the
    business's lock, the batch's reads, the card numbers' reservation with every insert, the
    card's new balance, COMMIT. (Eleven before: BEGIN and the lock apart, an insert each for
    events, orders, entries and tallies, and the pool's reset query after COMMIT.)"""
    store, device, card = pg
    rng = random.Random(1)
    await store.apply_events(device, _batch(0, card), datetime.now(UTC), rng)
    sent.clear()
    result = await store.apply_events(device, _batch(1, card), datetime.now(UTC), rng)
    assert [r.status for r in result.results] == ["applied", "applied"]
    assert len(sent) == 5, sent
    assert sent[0].startswith("BEGIN; SELECT pg_advisory_xact_lock(") and sent[-1] == "COMMIT"
    assert sent[2].startswith("WITH w0 AS (INSERT INTO events")
    assert (await store.card(card, datetime.now(UTC), device)).balance == 2


async def test_given_a_state_pull_then_a_304_costs_one_statement_and_a_full_answer_two(
    pg: tuple[Store, Principal, str], sent: list[str]
) -> None:
    """Given a device up to date, when it pulls with its tag, then one statement answers the
    304 (two before: the look-up and the pool's reset); a pull without a tag takes two (the
    branch with the shop and the card sequence, then the cards; eight before); with cards,
    three (their rewards)."""
    store, device, _ = pg
    first = await store.sync_state(device, 0, "en", [])
    assert not isinstance(first, str) and len(first.cards) == 1
    tag = tag_of(first)
    assert tag is not None
    sent.clear()
    assert await store.sync_state(device, first.cursor, "en", [tag]) == tag
    assert len(sent) == 1, sent
    sent.clear()
    again = await store.sync_state(device, first.cursor, "en", [])
    assert not isinstance(again, str) and again.cards == [] and again.cursor == first.cursor
    assert len(sent) == 2, sent
    sent.clear()
    await store.sync_state(device, 0, "en", [])
    assert len(sent) == 3, sent


async def test_given_a_failing_batch_then_its_transaction_is_rolled_back_and_the_pool_goes_on(
    pg: tuple[Store, Principal, str],
) -> None:
    """Given the single-trip BEGIN and lock, when a write inside the transaction fails, then
    nothing of it stays and the connection goes back to the pool usable (no transaction left
    open, the lock released): the next batch of the same business is applied."""
    store, device, card = pg
    db: Any = store.db
    with pytest.raises(asyncpg.UniqueViolationError):
        async with db.write(device.business_id) as tx:
            await tx.execute("INSERT INTO counters (business_id, card_seq) VALUES (?, 0)", 999)
            await tx.execute("INSERT INTO counters (business_id, card_seq) VALUES (?, 0)", 999)
    async with db.read() as tx:
        assert await tx.fetchval("SELECT count(*) FROM counters WHERE business_id = 999") == 0
    for n in range(12):  # more than the pool's connections: each was given back clean
        result = await store.apply_events(
            device, _batch(n, card), datetime.now(UTC), random.Random(n)
        )
        assert {r.status for r in result.results} == {"applied"}
