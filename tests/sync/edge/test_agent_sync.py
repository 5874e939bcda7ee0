"""The agent app with its sync parts, over real HTTP, against the stand-in cloud."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.cloud_link import SYNC
from agent.http.app import build_app
from agent.http.state import OUTBOX, PROGRAM
from tests.agent.conftest import agent_settings
from tests.conftest import free_port
from tests.sync.edge.conftest import wait_until
from tests.sync.edge.stand_in_cloud import StandInCloud, default_program

Cloud = tuple[StandInCloud, str]
Start = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def start_agent(tmp_data: Path) -> AsyncIterator[Start]:
    """Start agents (same data dir) linked to ``url``; closed at the end."""
    clients: list[TestClient[Any, Any]] = []

    async def start(url: str, **cloud: Any) -> TestClient[Any, Any]:
        settings = agent_settings(
            tmp_data, cloud={"url": url, "sync_interval_s": 3600, "max_backoff_s": 0.2, **cloud}
        )
        c: TestClient[Any, Any] = TestClient(TestServer(build_app(settings)))
        await c.start_server()
        clients.append(c)
        return c

    yield start
    for c in clients:
        await c.close()


async def order(agent: TestClient[Any, Any], order_id: str, total: str = "25.00") -> Any:
    resp = await agent.post("/v1/orders", json={"order_id": order_id, "total": total})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def health(agent: TestClient[Any, Any]) -> Any:
    return await (await agent.get("/health")).json()


async def test_given_an_order_then_it_reaches_the_cloud_and_health_and_metrics_say_so(
    start_agent: Start, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    agent = await start_agent(url)
    await order(agent, "A1")
    await wait_until(lambda: len(cloud.ledger) == 1)

    async def acked() -> bool:
        return bool((await health(agent))["outbox"]["acked"] == 1)

    await wait_until(acked)
    h = await health(agent)
    assert h["cloud"]["reachable"] is True and h["cloud"]["last_sync_at"] is not None
    assert h["outbox"]["pending"] == 0 and h["outbox"]["oldest_pending_age_s"] is None
    text = await (await agent.get("/metrics")).text()
    assert 'stampedge_sync_events_total{status="applied"} 1.0' in text
    assert "stampedge_cloud_reachable 1.0" in text


async def test_given_the_cloud_down_then_orders_still_201_and_backlog_shows_then_drains(
    start_agent: Start, tmp_path: Path
) -> None:
    port = free_port()
    agent = await start_agent(f"http://127.0.0.1:{port}")
    for i in range(3):
        await order(agent, f"B{i}")

    async def failed() -> bool:
        return (await health(agent))["cloud"]["reachable"] is False

    await wait_until(failed)
    h = await health(agent)
    assert h["outbox"]["pending"] + h["outbox"]["sent"] == 3
    assert h["outbox"]["oldest_pending_age_s"] is not None
    assert h["cloud"]["last_error"]
    text = await (await agent.get("/metrics")).text()
    assert 'stampedge_outbox_events{state="pending"}' in text
    assert "stampedge_outbox_oldest_pending_age_seconds" in text
    assert 'stampedge_sync_errors_total{kind="network"}' in text
    # The cloud comes up on that port: everything arrives, once.
    cloud = StandInCloud()
    server = TestServer(cloud.app(), port=port)
    await server.start_server()
    try:
        await wait_until(lambda: len(cloud.ledger) == 3)

        async def drained() -> bool:
            o = (await health(agent))["outbox"]
            return bool(o["acked"] == 3 and o["dead"] == 0)

        await wait_until(drained)
    finally:
        await server.close()


async def test_given_a_wrong_device_key_then_health_says_so_and_nothing_is_dead(
    start_agent: Start, stand_in: Cloud
) -> None:
    _, url = stand_in
    agent = await start_agent(url, device_key="sk_7_wrong")
    await order(agent, "K1")

    async def told() -> bool:
        return "device_key" in ((await health(agent))["cloud"]["last_error"] or "")

    await wait_until(told)
    h = await health(agent)
    assert "HTTP 401" in h["cloud"]["last_error"]
    assert h["outbox"]["dead"] == 0 and h["outbox"]["acked"] == 0


async def test_given_a_poison_event_then_health_is_degraded_and_metrics_name_the_reason(
    start_agent: Start, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    agent = await start_agent(url)
    await order(agent, "POISON-7")
    await order(agent, "fine-1")

    async def settled() -> bool:
        o = (await health(agent))["outbox"]
        return bool(o["dead"] == 1 and o["acked"] == 1)

    await wait_until(settled)
    assert (await health(agent))["status"] == "degraded"
    text = await (await agent.get("/metrics")).text()
    assert (
        'stampedge_sync_dead_events_total{reason="rejected by the cloud: unknown card"} 1.0' in text
    )
    assert len(cloud.ledger) == 1


async def test_given_customers_then_answer_from_cloud_when_reachable_and_cache_otherwise(
    start_agent: Start, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    cloud.add_card(customer_id="c1", card_code="ABC123", number="123456", name="Ann Lee")
    agent = await start_agent(url)
    puller = agent.app[SYNC].puller
    assert puller is not None
    await wait_until(puller.pulled.is_set)
    resp = await agent.get("/v1/customers", params={"q": "123456"})
    body = await resp.json()
    assert body["source"] == "cloud"
    assert body["customers"][0]["customer_id"] == "c1"
    cloud.fail_next = [503]
    body = await (await agent.get("/v1/customers", params={"q": "123456"})).json()
    assert body["source"] == "cache"
    assert [c["customer_id"] for c in body["customers"]] == ["c1"]
    # Just failed: the next look-up does not make the cashier wait on the cloud again.
    before = cloud.requests
    body = await (await agent.get("/v1/customers", params={"q": "Ann"})).json()
    assert body["source"] == "cache" and body["customers"][0]["name"] == "Ann Lee"
    assert cloud.requests == before


async def test_given_a_program_change_in_the_cloud_then_the_till_stamps_by_it_without_restart(
    start_agent: Start, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    agent = await start_agent(url)  # the config says by_amount, 1 per EUR 10
    await wait_until(lambda: agent.app[PROGRAM].version == 1)
    assert (await order(agent, "P1", "25.00"))["stamps"] == 1  # per_order from the cloud
    cloud.program = default_program(version=2, rule="by_amount", step="5")
    await order(agent, "P2", "25.00")  # an upload triggers the next pull
    await wait_until(lambda: agent.app[PROGRAM].version == 2)
    answer = await order(agent, "P3", "25.00")
    assert (answer["rule"], answer["stamps"]) == ("by_amount", 5)


async def test_given_a_restart_while_offline_then_the_last_cloud_program_is_kept(
    start_agent: Start, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    cloud.program = default_program(version=4, rule="per_order", stamps_per_order=3)
    first = await start_agent(url)
    await wait_until(lambda: first.app[PROGRAM].version == 4)
    await first.close()
    offline = await start_agent(f"http://127.0.0.1:{free_port()}")
    assert offline.app[PROGRAM].version == 4
    answer = await order(offline, "R1", "99.00")
    assert (answer["rule"], answer["stamps"]) == ("per_order", 3)


async def test_given_no_cloud_url_then_no_uploader_and_events_wait(start_agent: Start) -> None:
    agent = await start_agent("")
    await order(agent, "N1")
    assert agent.app[SYNC].uploader is None
    assert (await agent.app[OUTBOX].counts()).pending == 1


async def test_given_a_dead_event_then_health_shows_its_reason(
    start_agent: Start, stand_in: Cloud
) -> None:
    _, url = stand_in
    agent = await start_agent(url)
    await order(agent, "POISON-9")

    async def dead() -> bool:
        return bool((await health(agent))["outbox"]["dead"] == 1)

    await wait_until(dead)
    shown = (await health(agent))["outbox"]["dead_events"]
    assert [(d["type"], d["reason"]) for d in shown] == [
        ("receipt_qr.issued", "rejected by the cloud: unknown card")
    ]


async def test_given_no_orders_then_the_state_pull_alone_keeps_cloud_status_true(
    start_agent: Start, stand_in: Cloud, tmp_path: Path
) -> None:
    _, url = stand_in
    agent = await start_agent(url)

    async def reachable() -> bool:
        c = (await health(agent))["cloud"]
        return bool(c["reachable"] is True and c["last_sync_at"] is not None)

    await wait_until(reachable)


async def test_given_no_orders_and_no_cloud_then_health_says_unreachable(
    start_agent: Start,
) -> None:
    agent = await start_agent(f"http://127.0.0.1:{free_port()}")

    async def unreachable() -> bool:
        c = (await health(agent))["cloud"]
        return bool(c["reachable"] is False and c["last_error"])

    await wait_until(unreachable)
