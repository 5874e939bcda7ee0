"""Rewards at the till through real agents (over real TCP) and the real cloud app, on SQLite and
PostgreSQL: a check's rewards reach ``GET /v1/orders/{id}``, one redeem of 30 concurrent ones
on two agents wins, and offline redeems on two agents end as one redemption and one conflict."""

import asyncio
import json
import random
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent.rewards.webhook import SIGNATURE, signature
from tests.agent.conftest import agent_settings, running_agents
from tests.conftest import free_port
from tests.fakes.fault_proxy import FaultProxy
from tests.sync.cloud.conftest import Cloud
from tests.sync.edge.conftest import wait_until

SANDWICH = {"sku": "GIFT-01", "name": "Free sandwich"}
Agent = TestClient[Any, Any]
StartAgent = Callable[..., Awaitable[Agent]]


@pytest.fixture
async def start_agent(tmp_path: Path, cloud: Cloud) -> AsyncIterator[StartAgent]:
    """Start agents on the cloud's clock; ``name`` is the data directory (same name: same file),
    ``url`` the cloud (default: the cloud app), ``key`` the device key."""

    def settings(name: str, url: str, key: str, pos: dict[str, Any] | None = None,
                 printer: dict[str, Any] | None = None, **agent: Any) -> Any:  # fmt: skip
        return agent_settings(
            tmp_path / name,
            pos=pos or {},
            printer=printer or {},
            agent={"mode": "identified", **agent},
            cloud={"url": url, "device_key": key, "device_secret": cloud.link["device_secret"],
                   "sync_interval_s": 0.2, "max_backoff_s": 0.2, "timeout_s": 5.0},
        )  # fmt: skip

    async with running_agents(settings) as start:

        async def go(name: str = "a", url: str | None = None, key: str | None = None,
                     ready: bool = True, pos: dict[str, Any] | None = None,
                     printer: dict[str, Any] | None = None, **agent: Any) -> Agent:  # fmt: skip
            (tmp_path / name).mkdir(exist_ok=True)
            base = url or str(cloud.http.make_url("")).rstrip("/")
            client = await start(cloud.clock, name=name, url=base,
                                 key=key or cloud.link["device_key"], pos=pos, printer=printer,
                                 **agent)  # fmt: skip
            if ready:  # stamping by the branch's program (set before the agent starts)
                await wait_until(lambda: _program_pulled(tmp_path / name))
            return client

        yield go


def _found(agent_dir: Path, sql: str, *args: Any) -> bool:
    """Whether the agent's database file has a row for ``sql`` (read-only, on its own)."""
    conn = sqlite3.connect(f"file:{agent_dir / 'agent.db'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchone() is not None
    finally:
        conn.close()


def _cached(agent_dir: Path, code: str) -> bool:
    return _found(agent_dir, "SELECT 1 FROM card_rewards WHERE code = ?", code)


def _program_pulled(agent_dir: Path) -> bool:
    return _found(agent_dir, "SELECT 1 FROM kv WHERE key = 'cloud.program'")


async def _order(agent: Agent, order_id: str, card: str, total: str = "5.00") -> Any:
    resp = await agent.post(
        "/v1/orders", json={"order_id": order_id, "total": total, "customer": {"card": card}}
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _view(agent: Agent, order_id: str) -> Any:
    resp = await agent.get(f"/v1/orders/{order_id}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _applied(agent: Agent, order_id: str) -> Any:
    got: dict[str, Any] = {}

    async def done() -> bool:
        got.update(await _view(agent, order_id))
        return bool(got["rewards"]["status"] == "applied")

    await wait_until(done)
    return got


async def _second_device(cloud: Cloud) -> str:
    resp = await cloud.http.post(
        "/v1/devices", json={"branch_id": cloud.link["branch_id"], "label": "till-2"},
        headers=cloud.admin(),
    )  # fmt: skip
    assert resp.status == 201, await resp.text()
    key: str = (await resp.json())["device_key"]
    return key


async def _gift(cloud: Cloud, agent: Agent, order_id: str = "G-1") -> tuple[str, str]:
    """A customer whose check at ``agent`` reaches the goal: the card code and the gift's code."""
    c = await cloud.customer(f"{order_id.lower()}@example.com")
    await _order(agent, order_id, c["card_code"], total="30.00")
    view = await _applied(agent, order_id)
    [gift] = view["rewards"]["issued"]
    return c["card_code"], gift["code"]


async def test_given_a_check_then_its_rewards_reach_the_order_once_the_cloud_applied_it(
    cloud: Cloud, start_agent: StartAgent, tmp_path: Path
) -> None:
    """Given goal 3 with a POS line, when a check of 4 stamps is taken while the cloud is out of
    reach, then GET /v1/orders/{id} says pending with no rewards; when the agent (restarted on
    the same file) reaches the cloud, it shows the stamps, the balance and the gift."""
    await cloud.set_program(rule="by_amount", step="1", goal=3, reward_name="Sandwich",
                            pos_product=SANDWICH)  # fmt: skip
    c = await cloud.customer("p@example.com")
    first = await start_agent("a")  # takes the branch's program, then the link goes
    await first.close()
    away = await start_agent("a", url=f"http://127.0.0.1:{free_port()}", ready=False)
    await _order(away, "P-1", c["card_code"], total="4.20")
    pending = await _view(away, "P-1")
    assert pending["rewards"] == {"status": "pending", "card_code": None, "stamps": None,
                                  "balance": None, "issued": [], "lottery": []}  # fmt: skip
    assert "rewards pending" in await (await away.get("/")).text()  # the status page
    await away.close()
    agent = await start_agent("a")
    view = await _applied(agent, "P-1")
    rewards = view["rewards"]
    assert (rewards["card_code"], rewards["stamps"], rewards["balance"]) == (c["card_code"], 4, 1)
    [gift] = rewards["issued"]
    assert (gift["kind"], gift["title"], gift["pos_product"]) == ("gift", "Sandwich", SANDWICH)
    card = await cloud.card(c["card_code"])
    assert [r["code"] for r in card["rewards"]] == [gift["code"]]
    assert f"issued Sandwich {gift['code']}" in await (await agent.get("/")).text()


async def test_given_30_concurrent_redeems_on_two_agents_then_exactly_one_wins(
    cloud: Cloud, start_agent: StartAgent
) -> None:
    """Given a gift, when two tills send 15 redeems each at once, then exactly one answers 200
    with the POS line and every other 409 already_redeemed; the cloud counts one redemption."""
    await cloud.set_program(rule="per_order", goal=1, pos_product=SANDWICH)
    one = await start_agent("a")
    two = await start_agent("b", key=await _second_device(cloud))
    _, code = await _gift(cloud, one)

    async def redeem(agent: Agent, i: int) -> tuple[int, Any]:
        resp = await agent.post(f"/v1/rewards/{code}/redeem",
                                json={"order_id": f"R-{i}", "till": "t"})  # fmt: skip
        return resp.status, await resp.json()

    got = await asyncio.gather(*(redeem(one if i % 2 else two, i) for i in range(30)))
    statuses = Counter(status for status, _ in got)
    assert statuses == {200: 1, 409: 29}, got
    [won] = [body for status, body in got if status == 200]
    assert (won["code"], won["state"], won["source"]) == (code, "redeemed", "cloud")
    assert won["pos_product"] == SANDWICH
    assert {b["error"]["code"] for s, b in got if s == 409} == {"already_redeemed"}
    till = one if int(won["order_id"][2:]) % 2 else two
    await _order(till, won["order_id"], won["card_code"])  # the check the gift went on
    view = await _view(till, won["order_id"])
    assert [(r["code"], r["pos_product"]) for r in view["redeemed"]] == [(code, SANDWICH)]
    # (the check above reaches the goal again: its new gift may already be on the card too)
    [reward] = [r for r in (await cloud.card(won["card_code"]))["rewards"] if r["code"] == code]
    assert reward["state"] == "redeemed"


def _cached(agent_dir: Path, code: str) -> bool:
    conn = sqlite3.connect(f"file:{agent_dir / 'agent.db'}?mode=ro", uri=True, timeout=10)
    try:
        return (
            conn.execute("SELECT 1 FROM card_rewards WHERE code = ?", (code,)).fetchone()
            is not None
        )
    finally:
        conn.close()


async def test_given_offline_redeems_on_two_agents_then_one_redemption_and_one_conflict(
    cloud: Cloud, start_agent: StartAgent, tmp_path: Path
) -> None:
    """Given a gift in both tills' card caches and the cloud cut off, when each till redeems it
    (offline_redeem = allow), then each answers 200 source offline once and 409 the second time
    on the same till; a till with offline_redeem = refuse answers 503 cloud_unreachable; when
    the link comes back, the cloud has it redeemed once, one double redemption in /v1/stats,
    and one redemption counted."""
    await cloud.set_program(rule="per_order", goal=1, pos_product=SANDWICH)
    host, port = cloud.http.server.host, cloud.http.server.port
    assert port is not None
    proxy = await FaultProxy(str(host), port).start()
    try:
        one = await start_agent("a", url=proxy.url, offline_redeem="allow")
        two = await start_agent("b", url=proxy.url, key=await _second_device(cloud),
                                offline_redeem="allow")  # fmt: skip
        strict = await start_agent("c", url=proxy.url, ready=False)
        _, code = await _gift(cloud, one)
        for name in ("a", "b"):
            await wait_until(lambda name=name: _cached(tmp_path / name, code))  # type: ignore[misc]
        proxy.fail_http(503, times=-1, match=b"")
        resp = await strict.post(f"/v1/rewards/{code}/redeem")
        assert resp.status == 503 and (await resp.json())["error"]["code"] == "cloud_unreachable"
        for agent, order_id in ((one, "O-1"), (two, "O-2")):
            resp = await agent.post(f"/v1/rewards/{code}/redeem", json={"order_id": order_id})
            body = await resp.json()
            assert resp.status == 200, body
            assert (body["source"], body["pos_product"]) == ("offline", SANDWICH)
            again = await agent.post(f"/v1/rewards/{code}/redeem")
            assert again.status == 409
            assert (await again.json())["error"]["code"] == "already_redeemed"
        proxy.heal()
        for agent in (one, two):

            async def drained(agent: Agent = agent) -> bool:
                outbox = (await (await agent.get("/health")).json())["outbox"]
                return bool(outbox["pending"] == 0 and outbox["sent"] == 0)

            await wait_until(drained)
        stats = await (await cloud.http.get(
            "/v1/stats", headers=cloud.admin(),
            params={"branch": str(cloud.link["branch_id"]), "from": "2026-11-23",
                    "to": "2026-11-23"},
        )).json()  # fmt: skip
        assert stats["redeem_conflicts"] == 1
        assert stats["total"]["rewards_redeemed"] == 1
        for agent in (one, two):
            assert (await (await agent.get("/health")).json())["outbox"]["dead"] == 0
    finally:
        await proxy.close()


async def _quote(agent: Agent, body: dict[str, Any]) -> Any:
    resp = await agent.post("/v1/orders/quote", json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_given_quotes_then_each_is_what_its_order_then_credits(
    cloud: Cloud, start_agent: StartAgent
) -> None:
    """Given a by-amount program (goal 5, POS line) and a card with a gift, when checks of
    random totals are quoted (by card, number or email) and then paid, then each quote's stamps
    are the order's, and its balance after and rewards are what the cloud's answer credited;
    the open gift is offered with its POS line; quoting records nothing."""
    await cloud.set_program(rule="by_amount", step="2.5", goal=5, max_stamps_per_order=9,
                            pos_product=SANDWICH)  # fmt: skip
    agent = await start_agent("a")
    card, gift = await _gift(cloud, agent, "Q-0")  # 30.00: 9 stamps, one gift, balance 4
    c = await cloud.card(card)
    refs = [{"card": card.lower()}, {"number": c["number"]}, {"email": "q-0@example.com"}]
    rng = random.Random(15)
    for i in range(6):
        total = f"{rng.randrange(0, 4000) / 100:.2f}"
        body = {"order_id": f"Q-{i + 1}", "total": total, "customer": refs[i % 3]}
        quote = await _quote(agent, body)
        again = await _quote(agent, {k: v for k, v in body.items() if k != "order_id"})
        assert again == {**quote, "order_id": None}  # no side effect: the same answer again
        assert quote["source"] == "cloud" and quote["customer"]["card_code"] == card
        offered = {r["code"]: (r["state"], r["pos_product"]) for r in quote["available"]}
        assert offered[gift] == ("active", SANDWICH)
        placed = await (await agent.post("/v1/orders", json=body)).json()
        assert placed["stamps"] == quote["stamps"], (body, quote, placed)
        done = (await _applied(agent, body["order_id"]))["rewards"]
        assert (done["stamps"], done["balance"]) == (quote["stamps"], quote["balance_after"])
        expected = quote["rewards_on_this_check"]
        assert len(done["issued"]) == (expected["count"] if expected else 0), (quote, done)
        if expected:
            assert expected["pos_product"] == SANDWICH and expected["kind"] == "gift"
    nobody = await _quote(agent, {"total": "12.50"})
    assert (nobody["stamps"], nobody["customer"], nobody["known"]) == (5, None, False)
    unknown = await _quote(agent, {"total": "5", "customer": {"number": "000000"}})
    assert (unknown["known"], unknown["source"]) == (False, "cloud")
    bad = await agent.post("/v1/orders/quote", json={"total": "-1"})
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "total"


async def test_given_the_cloud_cut_off_then_the_quote_comes_from_the_cache(
    cloud: Cloud, start_agent: StartAgent, tmp_path: Path
) -> None:
    """Given a card whose gift the till has cached, when the cloud's answers are held (the
    fault proxy) the quote still answers, from the cache, with the same figures as the cloud's;
    the next quote does not ask the cloud again; /metrics counts both sources."""
    await cloud.set_program(rule="per_order", stamps_per_order=4, goal=3, pos_product=SANDWICH)
    host, port = cloud.http.server.host, cloud.http.server.port
    assert port is not None
    proxy = await FaultProxy(str(host), port).start()
    try:
        agent = await start_agent("a", url=proxy.url, quote_budget_ms=200)
        card, gift = await _gift(cloud, agent, "C-0")  # 4 stamps: a gift and a balance of 1
        await wait_until(lambda: _cached(tmp_path / "a", gift))
        body = {"total": "9.90", "customer": {"card": card}}
        online = await _quote(agent, body)
        proxy.delay_s = 30.0
        cached = await _quote(agent, body)
        assert online["source"] == "cloud" and cached["source"] == "cache"
        assert {**cached, "source": "cloud"} == online
        assert (await _quote(agent, body))["source"] == "cache"
        text = await (await agent.get("/metrics")).text()
        assert 'stampedge_quotes_total{source="cloud"} 1.0' in text
        assert 'stampedge_quotes_total{source="cache"} 2.0' in text
    finally:
        proxy.heal()
        await proxy.close()


async def test_given_a_pos_webhook_then_each_checks_rewards_arrive_signed_exactly_once(
    cloud: Cloud, start_agent: StartAgent, tmp_path: Path
) -> None:
    """Given a POS webhook that fails its first two calls, when three identified checks and one
    without a customer are applied, then the POS accepts exactly one signed delivery per
    identified check (the failed ones retried with backoff), with the gift of the one that
    reached the goal; nothing for the check without a customer."""
    await cloud.set_program(rule="per_order", stamps_per_order=2, goal=4, pos_product=SANDWICH)
    secret = "pos-webhook-secret-0123456789"
    accepted: list[tuple[str, Any]] = []
    calls = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        body = await request.read()
        if calls <= 2:
            return web.Response(status=500)
        assert request.headers[SIGNATURE] == signature(secret, body)
        accepted.append((request.headers["X-Stampedge-Delivery"], json.loads(body)))
        return web.Response(status=204)

    pos = web.Application()
    pos.router.add_post("/hook", hook)
    server = TestServer(pos)
    await server.start_server()
    try:
        agent = await start_agent("a", pos={"webhook_url": str(server.make_url("/hook")),
                                            "webhook_secret": secret,
                                            "webhook_max_backoff_s": 0.2})  # fmt: skip
        c = await cloud.customer("w@example.com")
        for i in range(3):
            await _order(agent, f"W-{i}", c["card_code"])
        await (await agent.post("/v1/orders", json={"order_id": "W-x", "total": "3"})).json()
        await wait_until(lambda: len(accepted) >= 3)
        # every result is sent and nothing is left to send: no later delivery can come
        await wait_until(lambda: not _found(
            tmp_path / "a", "SELECT 1 FROM event_results WHERE webhook = 'due'"))  # fmt: skip
        assert sorted(b["order_id"] for _, b in accepted) == ["W-0", "W-1", "W-2"]
        assert len({d for d, _ in accepted}) == 3 and calls == 5
        by_order = {b["order_id"]: b["rewards"] for _, b in accepted}
        assert [by_order[f"W-{i}"]["balance"] for i in range(3)] == [2, 0, 2]
        assert [len(by_order[f"W-{i}"]["issued"]) for i in range(3)] == [0, 1, 0]
        assert by_order["W-1"]["issued"][0]["pos_product"] == SANDWICH
    finally:
        await server.close()


async def test_given_a_reward_code_scanned_at_a_till_then_it_goes_on_that_tills_next_check(
    cloud: Cloud, start_agent: StartAgent, tmp_path: Path
) -> None:
    """Given a gift, an identified check's receipt says it is ready; when its code is read at
    till-2 in redeem mode, then till-1's next check does not carry it, till-2's next check does
    (GET /v1/orders and the printed line with the POS item); a kiosk refuses reward codes."""
    await cloud.set_program(rule="per_order", goal=1, reward_name="Sandwich",
                            pos_product=SANDWICH)  # fmt: skip
    folder = tmp_path / "receipts"
    agent = await start_agent("a", printer={"kind": "file", "path": str(folder)})
    card, code = await _gift(cloud, agent, "S-0")
    await wait_until(lambda: _cached(tmp_path / "a", code))

    async def paper(order_id: str, till: str) -> bytes:
        body = {"order_id": order_id, "total": "4", "till": till, "print": True,
                "customer": {"card": card}}  # fmt: skip
        placed = await (await agent.post("/v1/orders", json=body)).json()
        path = folder / f"{placed['print']['job_id']}.bin"
        await wait_until(lambda: path.exists() and path.stat().st_size > 0)
        return path.read_bytes()

    ready = await paper("S-1", "till-1")
    assert f"Reward ready: Sandwich ({code})".encode() in ready
    kiosk = await agent.post("/v1/scans", json={"code": code, "till": "k", "mode": "kiosk"})
    assert (await kiosk.json())["reason"] == "not_here"
    shown = " ".join(code.lower().split("-"))  # as a phone shows it, read by a keyboard wedge
    scan = await agent.post("/v1/scans", json={"code": shown, "till": "till-2", "mode": "redeem"})
    got = await scan.json()
    assert scan.status == 200 and got["outcome"] == "redeemed", got
    assert (got["reward"]["code"], got["reward"]["pos_product"]) == (code, SANDWICH)
    other = await paper("S-2", "till-1")
    assert b"Reward redeemed" not in other and b"Reward ready" not in other
    mine = await paper("S-3", "till-2")
    assert f"Reward redeemed {code}: Free sandwich [GIFT-01] 0.00".encode() in mine
    assert (await _view(agent, "S-2"))["redeemed"] == []
    [on_check] = (await _view(agent, "S-3"))["redeemed"]
    assert (on_check["code"], on_check["order_id"], on_check["till"]) == (code, "S-3", "till-2")
    # read again (another till: the same scanner's double read within a second counts once)
    again = await agent.post("/v1/scans", json={"code": code, "till": "till-3", "mode": "redeem"})
    assert again.status == 422 and (await again.json())["reason"] == "already_redeemed"


async def test_given_the_answer_lost_then_the_resent_check_still_tells_its_rewards(
    cloud: Cloud, start_agent: StartAgent
) -> None:
    """Given the cloud applies a check but its answer is lost on the way (the fault proxy cuts
    it), when the agent sends the check again (duplicate), then GET /v1/orders still shows the
    gift the first application issued, the very code the card holds."""
    await cloud.set_program(rule="per_order", stamps_per_order=3, goal=2, pos_product=SANDWICH)
    host, port = cloud.http.server.host, cloud.http.server.port
    assert port is not None
    proxy = await FaultProxy(str(host), port).start()
    try:
        agent = await start_agent("a", url=proxy.url)
        c = await cloud.customer("lost@example.com")
        proxy.cut_after_response(times=1)
        await _order(agent, "L-1", c["card_code"])
        view = await _applied(agent, "L-1")
        assert proxy.stats.cuts == 1
        rewards = view["rewards"]
        [gift] = rewards["issued"]
        assert (rewards["stamps"], rewards["balance"], gift["pos_product"]) == (3, 1, SANDWICH)
        card = await cloud.card(c["card_code"])
        assert [r["code"] for r in card["rewards"]] == [gift["code"]]
    finally:
        await proxy.close()
