"""Kiosk stamping through ``POST /v1/scans`` (the same path a kiosk scanner takes): the
program's per-visit stamps, once per card per cooldown, kept across restarts."""

from sync.contract.card_code import new_card_code
from tests.agent.scans.conftest import AgentFactory, Client, events, metric, scan_rows
from tests.clock import Clock


async def _scan(agent: Client, code: str, **extra: str) -> tuple[int, dict[str, object]]:
    resp = await agent.post("/v1/scans", json={"code": code, "till": "kiosk-1", **extra})
    return resp.status, await resp.json()


async def test_given_a_card_at_the_kiosk_then_stamped_by_stamps_per_order_with_an_event(
    make_agent: AgentFactory,
) -> None:
    # by_amount program: a visit has no amount, so it stamps stamps_per_order (here 2).
    agent = await make_agent(program={"rule": "by_amount", "stamps_per_order": 2})
    card = new_card_code()
    status, body = await _scan(agent, card.lower())
    assert status == 200
    assert body["outcome"] == "stamped" and body["stamps"] == 2
    assert body["customer"]["card"] == card
    (event,) = await events(agent, "scan.stamped")
    assert event["payload"] == {
        "scan_id": body["scan_id"],
        "customer": {"card": card},
        "till": "kiosk-1",
        "stamps": 2,
    }
    rows = await scan_rows(agent)
    assert [(r["outcome"], r["code"], r["source"]) for r in rows] == [
        ("stamped", card, "api:kiosk-1")
    ]
    assert await metric(agent, "stampedge_scans_total", outcome="stamped") == 1


async def test_given_a_per_order_program_then_its_count_and_cap_apply(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(
        program={"rule": "per_order", "stamps_per_order": 5, "max_stamps_per_order": 3}
    )
    _, body = await _scan(agent, "123456")
    assert body["outcome"] == "stamped" and body["stamps"] == 3
    assert body["customer"]["number"] == "123456"


async def test_given_the_cooldown_then_throttled_until_its_edge_and_stamped_at_it(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock, agent={"kiosk_cooldown_s": 600})
    card, other = new_card_code(), new_card_code()
    assert (await _scan(agent, card))[1]["outcome"] == "stamped"
    assert (await _scan(agent, other))[1]["outcome"] == "stamped"
    clock.advance(599.5)
    status, body = await _scan(agent, card)
    assert status == 429 and body["outcome"] == "throttled"
    assert body["retry_after_s"] == 0.5 and body["reason"] == "cooldown"
    clock.advance(0.5)  # exactly the cooldown after the stamps
    # (the other card: the first one was just read, and a re-read within 2 s counts once)
    status, body = await _scan(agent, other)
    assert status == 200 and body["outcome"] == "stamped"
    assert len(await events(agent, "scan.stamped")) == 3
    outcomes = [r["outcome"] for r in await scan_rows(agent)]
    assert outcomes == ["stamped", "stamped", "throttled", "stamped"]
    assert await metric(agent, "stampedge_scans_total", outcome="throttled") == 1


async def test_given_another_card_or_another_branch_agent_then_not_throttled(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(Clock())
    assert (await _scan(agent, new_card_code()))[1]["outcome"] == "stamped"
    assert (await _scan(agent, new_card_code()))[1]["outcome"] == "stamped"


async def test_given_a_restart_then_the_cooldown_still_holds(make_agent: AgentFactory) -> None:
    clock = Clock()
    card = new_card_code()
    first = await make_agent(clock)
    assert (await _scan(first, card))[1]["outcome"] == "stamped"
    await first.close()
    clock.advance(60)
    second = await make_agent(clock)  # same data directory, fresh process state
    status, body = await _scan(second, card)
    assert status == 429 and body["retry_after_s"] == 540


async def test_given_a_card_and_its_number_then_they_share_one_cooldown(
    make_agent: AgentFactory,
) -> None:
    from agent.http.state import OUTBOX

    agent = await make_agent(Clock())
    card = new_card_code()
    await agent.app[OUTBOX].write(
        [
            (
                "INSERT INTO cards (customer_id, card_code, number) VALUES (?, ?, ?)",
                ("cust-1", card, "424242"),
            )
        ]
    )
    assert (await _scan(agent, card))[1]["outcome"] == "stamped"
    assert (await _scan(agent, "424242"))[1]["outcome"] == "throttled"


async def test_given_a_double_read_within_2s_then_it_counts_once(
    make_agent: AgentFactory,
) -> None:
    clock = Clock()
    agent = await make_agent(clock, agent={"kiosk_cooldown_s": 0})
    card = new_card_code()
    assert (await _scan(agent, card))[1]["outcome"] == "stamped"
    clock.advance(1.999)
    status, body = await _scan(agent, card)
    assert status == 200 and body["outcome"] == "rejected" and body["reason"] == "duplicate"
    clock.advance(2.0)
    assert (await _scan(agent, card))[1]["outcome"] == "stamped"  # no cooldown configured
    assert len(await events(agent, "scan.stamped")) == 2
    assert await metric(agent, "stampedge_scan_rejections_total", reason="duplicate") == 1


async def test_given_garbage_then_422_with_the_reason_recorded_and_counted(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent()
    status, body = await _scan(agent, "SC-not-a-card")
    assert status == 422 and body["outcome"] == "rejected" and body["reason"] == "unknown_code"
    assert body["message"]
    (row,) = await scan_rows(agent)
    assert (row["outcome"], row["reason"]) == ("rejected", "unknown_code")
    assert await events(agent) == []


async def test_given_a_program_without_per_visit_stamps_then_rejected(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(program={"rule": "per_order", "stamps_per_order": 0})
    status, body = await _scan(agent, new_card_code())
    assert status == 422 and body["reason"] == "no_stamps"
    assert await events(agent) == []
