"""Two cards of one person merged by staff (admin key), on SQLite and PostgreSQL: balances,
entries and rewards combine, nothing is counted twice, the old code keeps working (look-up,
the till's events and its sync state) and the merge is a ledger event."""

import asyncio
import random
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.cloud.book import to_us
from sync.cloud.errors import Conflict
from sync.cloud.models import StampIn
from sync.cloud.provision import init_business
from sync.cloud.store import Principal, Store, open_store
from sync.cloud.store.merge import merge
from sync.contract.customers import CustomerRef
from tests.clock import START
from tests.sync.cloud.conftest import Cloud, event, order


async def _stamp(cloud: Cloud, customer: dict[str, str], stamps: int) -> Any:
    [result] = await cloud.post_events(
        [event("order.stamped", order(f"M-{uuid.uuid4().hex[:8]}", stamps, customer))]
    )
    return result


async def _merge(cloud: Cloud, source: str, into: str, key: dict[str, str] | None = None) -> Any:
    return await cloud.http.post(
        f"/v1/cards/{source}/merge", json={"into": into}, headers=key or cloud.admin()
    )


async def test_given_two_cards_when_staff_merge_them_then_everything_lands_on_one(
    cloud: Cloud,
) -> None:
    """Given card A (12 stamps: one reward and 2 left, on a goal of 10) and card B (4 stamps),
    when staff merge A into B, then B holds 6 stamps and A's reward, A's code finds B, the
    till's events naming A's code or number credit B, the sync state shows A with B's balance,
    a void of A's check takes its stamps back from B, and the merge is a ledger event."""
    a, b = await cloud.customer(), await cloud.customer(name="Bo")
    first = await _stamp(cloud, {"card": a["card_code"]}, 12)
    assert first["status"] == "applied"
    await _stamp(cloud, {"card": b["card_code"]}, 4)
    resp = await _merge(cloud, a["card_code"], b["card_code"])
    assert resp.status == 200, await resp.text()
    done = await resp.json()
    assert (done["card_code"], done["merged"], done["balance"]) == (
        b["card_code"], a["card_code"], 6
    )  # fmt: skip
    assert (done["stamps_moved"], done["rewards_moved"]) == (2, 1)
    merged = await cloud.card(b["card_code"])
    assert merged["balance"] == 6 and len(merged["rewards"]) == 1
    alias = await cloud.card(a["card_code"])
    assert alias["card_code"] == b["card_code"] and alias["balance"] == 6
    await _stamp(cloud, {"card": a["card_code"]}, 1)
    await _stamp(cloud, {"number": a["number"]}, 1)
    assert (await cloud.card(b["card_code"]))["balance"] == 8
    state = await cloud.http.get("/v1/sync/state", params={"cursor": "0"}, headers=cloud.device())
    cards = {c["card_code"]: c for c in (await state.json())["cards"]}
    assert cards[a["card_code"]]["balance"] == 8 == cards[b["card_code"]]["balance"]
    async with cloud.store.db.read() as tx:
        ev = await tx.fetchrow("SELECT type, payload FROM events WHERE id = ?", done["event_id"])
        mark = await tx.fetchval(
            "SELECT COUNT(*) FROM entries WHERE event_id = ? AND kind = 'merge'", done["event_id"]
        )
        left = await tx.fetchval("SELECT balance FROM customers WHERE card_code = ?",
                                 a["card_code"])  # fmt: skip
        stats_stamps = await tx.fetchval("SELECT SUM(stamps) FROM tallies")
    assert ev["type"] == "card.merged" and a["card_code"] in ev["payload"] and mark == 1
    assert left == 0
    assert int(stats_stamps) == 12 + 4 + 1 + 1  # the merge counted no stamp again


async def test_given_bad_merges_then_they_are_refused_and_nothing_changes(cloud: Cloud) -> None:
    a, b = await cloud.customer(), await cloud.customer()
    await _stamp(cloud, {"card": a["card_code"]}, 3)
    assert (await _merge(cloud, a["card_code"], a["card_code"])).status == 409
    assert (await _merge(cloud, a["card_code"], "ZZZZZZZZ")).status == 404
    assert (await _merge(cloud, "nope", b["card_code"])).status == 404
    assert (await _merge(cloud, a["card_code"], b["card_code"], cloud.device())).status == 403
    bad = await cloud.http.post(
        f"/v1/cards/{a['card_code']}/merge", json={"onto": "x"}, headers=cloud.admin()
    )
    assert bad.status == 422 and (await bad.json())["error"]["code"]
    assert (await cloud.card(a["card_code"]))["balance"] == 3
    assert (await _merge(cloud, a["card_code"], b["card_code"])).status == 200
    again = await _merge(cloud, a["card_code"], b["card_code"])
    assert again.status == 409 and (await again.json())["error"]["code"] == "already_merged"


async def _with_phone(cloud: Cloud, phone: str) -> Any:
    resp = await cloud.http.post("/v1/customers", json={"phone": phone}, headers=cloud.admin())
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_given_a_card_with_a_phone_when_merged_then_the_phone_goes_with_the_person(
    cloud: Cloud,
) -> None:
    """Given card A holding a phone merged into card B without one, then B holds the phone (the
    tills are told so) and a check by that phone credits B; given C's phone merged into D that
    has its own, then D keeps its own and C's phone is free again (it was held by an alias:
    nobody could give it again, 409)."""
    a, b = await _with_phone(cloud, "+49 30 1234567"), await cloud.customer()
    assert (await _merge(cloud, a["card_code"], b["card_code"])).status == 200
    state = await cloud.http.get("/v1/sync/state", params={"cursor": "0"}, headers=cloud.device())
    phones = {c["card_code"]: c.get("phone") for c in (await state.json())["cards"]}
    assert phones[b["card_code"]] == "+49301234567" and phones[a["card_code"]] is None
    assert (await _stamp(cloud, {"phone": "+49301234567"}, 2))["status"] == "applied"
    assert (await cloud.card(b["card_code"]))["balance"] == 2
    c, d = await _with_phone(cloud, "+4940555123"), await _with_phone(cloud, "+33123456789")
    assert (await _merge(cloud, c["card_code"], d["card_code"])).status == 200
    async with cloud.store.db.read() as tx:
        kept = await tx.fetchval("SELECT phone FROM customers WHERE card_code = ?", d["card_code"])
    assert kept == "+33123456789"
    assert (await _with_phone(cloud, "+49 40 555123"))["phone"] == "+4940555123"


# -- the property: over random ledgers and merges, the sum of balances and the rewards stay --

ops = st.lists(
    st.one_of(
        st.tuples(st.just("stamp"), st.integers(0, 4), st.integers(1, 9)),
        st.tuples(st.just("merge"), st.integers(0, 4), st.integers(0, 4)),
    ),
    min_size=1,
    max_size=14,
)


async def _totals(store: Store, business_id: int) -> tuple[int, int, list[tuple[int, int]]]:
    async with store.db.read() as tx:
        balance = await tx.fetchval(
            "SELECT COALESCE(SUM(balance), 0) FROM customers WHERE business_id = ?", business_id
        )
        rewards = await tx.fetchval(
            "SELECT COUNT(*) FROM rewards WHERE business_id = ?", business_id
        )
        # each card's entries still add up to its balance (none lost, none counted twice)
        drift = await tx.fetch(
            "SELECT c.id, c.balance - COALESCE(SUM(e.delta), 0) AS drift FROM customers c "
            "LEFT JOIN entries e ON e.customer_id = c.id WHERE c.business_id = ? "
            "GROUP BY c.id, c.balance",
            business_id,
        )
    return int(balance), int(rewards), [(int(r[0]), int(r[1])) for r in drift if int(r[1])]


_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=30, deadline=None, suppress_health_check=_SLOW_OK)
@given(ops)
def test_given_random_ledgers_and_merges_then_balances_and_rewards_are_kept(
    tmp_path: Path, steps: list[tuple[str, int, int]]
) -> None:
    """Given five cards on a goal of 5, stamped and merged in any order (a merged card's old
    code stamped again), then after every step the sum of balances plus five stamps per reward
    equals every stamp given, merges change neither sum, and each card's ledger entries add up
    to its balance."""

    async def check() -> None:
        store = await open_store(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
        try:
            link = await init_business(store, business="B", branch="M", rule="per_order",
                                       step=Decimal("1"), goal=5, now=START)  # fmt: skip
            business_id = int(link["business_id"])
            admin = Principal("admin", business_id)
            codes = [
                (await store.create_customer(admin, None, None, START)).card_code for _ in range(5)
            ]
            given_total = 0
            rng = random.Random(1)
            for n, (kind, i, j) in enumerate(steps):
                before = await _totals(store, business_id)
                if kind == "stamp":
                    body = StampIn(order_id=f"P-{n}", total=Decimal(j),
                                   customer=CustomerRef(card=codes[i]))  # fmt: skip
                    await store.stamp(admin, body, START, rng)
                    given_total += 1  # per order: one stamp per check
                else:
                    try:
                        async with store.db.write(business_id) as tx:
                            await merge(tx, business_id, codes[i], codes[j], to_us(START), "staff")
                    except Conflict:
                        pass  # the same card, or merged already: refused, nothing changed
                    after = await _totals(store, business_id)
                    assert after[:2] == before[:2]
                balance, rewards, drift = await _totals(store, business_id)
                assert balance + 5 * rewards == given_total
                assert drift == []
        finally:
            await store.close()

    asyncio.run(check())
