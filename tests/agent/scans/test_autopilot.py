"""Autopilot at its edges with an injected clock: a card scanned at a till goes to that till's
next check without a customer within the window, else to its latest one before the scan."""

from typing import Any

from sync.contract.card_code import new_card_code
from tests.agent.scans.conftest import AgentFactory, Client, events, metric, scan_rows, service
from tests.clock import Clock

WINDOW = 120


async def _scan(agent: Client, code: str, till: str = "till-1") -> dict[str, Any]:
    resp = await agent.post("/v1/scans", json={"code": code, "till": till, "mode": "autopilot"})
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


async def _order(agent: Client, order_id: str, till: str = "till-1") -> dict[str, Any]:
    resp = await agent.post("/v1/orders", json={"order_id": order_id, "total": "25", "till": till})
    assert resp.status in (200, 201), await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def test_given_a_scan_then_the_tills_next_check_at_the_window_edge_takes_the_card(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    card = new_card_code()
    scan = await _scan(agent, card)
    assert scan["outcome"] == "pending"
    other_till = await _order(agent, "B-1", till="till-2")  # another till's check: not it
    assert other_till["customer"] is None and other_till["claim"] is not None
    clock.advance(WINDOW)
    order = await _order(agent, "A-1")
    assert order["customer"]["card"] == card and order["autopilot"] is True
    assert order["claim"] is None  # no receipt QR is left claimable for this check
    (stamped,) = await events(agent, "order.stamped")
    assert stamped["payload"]["order_id"] == "A-1"
    assert stamped["payload"]["customer"] == {"card": card}
    rows = {r["scan_id"]: r for r in await scan_rows(agent)}
    assert rows[scan["scan_id"]]["outcome"] == "attached"
    assert rows[scan["scan_id"]]["order_id"] == "A-1"
    # The card was used once: the next check gets a receipt QR again.
    assert (await _order(agent, "A-2"))["claim"] is not None
    assert await metric(agent, "stampedge_autopilot_results_total", result="next_order") == 1


async def test_given_the_next_check_just_after_the_window_then_it_keeps_its_receipt_qr(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    await _scan(agent, new_card_code())
    clock.advance(WINDOW + 0.001)
    order = await _order(agent, "A-1")
    assert order["customer"] is None and order["claim"] is not None
    assert await events(agent, "order.stamped") == []


async def test_given_no_next_check_then_the_latest_check_in_the_window_before_is_attached(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    await _order(agent, "A-0")  # too old by a millisecond when the card comes
    clock.advance(0.001)
    await _order(agent, "A-1")  # the customer paid, then showed the card
    clock.advance(WINDOW)
    card = new_card_code()
    scan = await _scan(agent, card)
    clock.advance(WINDOW)
    await service(agent).expire_pending(clock())
    assert await events(agent, "order.attached") == []  # the window has not passed yet
    clock.advance(0.001)
    await service(agent).expire_pending(clock())
    (attached,) = await events(agent, "order.attached")
    assert attached["payload"] == {"order_id": "A-1", "customer": {"card": card}, "till": "till-1"}
    row = next(r for r in await scan_rows(agent) if r["scan_id"] == scan["scan_id"])
    assert (row["outcome"], row["reason"], row["order_id"]) == ("attached", "latest_order", "A-1")


async def test_given_no_check_at_all_then_the_scan_ends_rejected_no_order(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    await _order(agent, "A-0")
    clock.advance(WINDOW + 0.001)  # that check is older than the window when the card comes
    scan = await _scan(agent, new_card_code())
    clock.advance(WINDOW + 1)
    await service(agent).expire_pending(clock())
    assert await events(agent, "order.attached") == []
    row = next(r for r in await scan_rows(agent) if r["scan_id"] == scan["scan_id"])
    assert (row["outcome"], row["reason"]) == ("rejected", "no_order")


async def test_given_a_check_with_a_customer_then_the_card_still_waits_for_one_without(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    card, other = new_card_code(), new_card_code()
    await _scan(agent, card)
    resp = await agent.post(
        "/v1/orders",
        json={"order_id": "A-1", "total": "10", "till": "till-1", "customer": {"card": other}},
    )
    assert (await resp.json())["customer"]["card"] == other
    order = await _order(agent, "A-2")
    assert order["customer"]["card"] == card


async def test_given_a_second_card_at_the_same_till_then_it_replaces_the_first(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    first, second = new_card_code(), new_card_code()
    one = await _scan(agent, first)
    clock.advance(5)
    await _scan(agent, second)
    order = await _order(agent, "A-1")
    assert order["customer"]["card"] == second
    row = next(r for r in await scan_rows(agent) if r["scan_id"] == one["scan_id"])
    assert (row["outcome"], row["reason"]) == ("rejected", "replaced")


async def test_given_a_repeated_check_then_the_waiting_card_is_not_used_up(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock)
    first = await _order(agent, "A-1")  # recorded without a card
    card = new_card_code()
    await _scan(agent, card)
    again = await _order(agent, "A-1")  # the POS retries the same check
    assert again["customer"] is None and again["order_id"] == first["order_id"]
    nxt = await _order(agent, "A-2")
    assert nxt["customer"]["card"] == card
