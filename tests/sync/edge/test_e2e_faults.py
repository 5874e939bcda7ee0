"""Faults between real processes: ``stampedge agent`` -> fault proxy -> cloud process.

After each scenario the set of orders the agent answered 2xx equals the cloud's ledger, each
exactly once: in the cloud's ``events`` table and in its ``orders`` table. The cloud is the real
``stampedge cloud`` on SQLite, provisioned with ``stampedge cloud init``.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sync.contract.card_code import new_card_code
from tests.conftest import free_port
from tests.fakes.fault_proxy import FaultProxy
from tests.sync.edge.e2e import AgentProc, Proc, RealCloudProc, exactly_once, orders, poll


@dataclass
class World:
    """The real cloud (SQLite) on a port behind the fault proxy, and the processes of a test."""

    home: Path
    cloud: RealCloudProc
    link: dict[str, Any]
    proxy: FaultProxy
    procs: list[Proc] = field(default_factory=list)

    def agent(self, name: str = "agent", **cloud: object) -> AgentProc:
        a = AgentProc(
            self.home / name,
            {
                "url": self.proxy.url,
                "device_key": self.link["device_key"],
                "device_secret": self.link["device_secret"],
                "claim_base_url": self.cloud.url + "/c/",
                **cloud,
            },
        )
        self.procs.append(a)
        return a

    async def ledger(self) -> list[str]:
        """Order ids of the applied order events; the orders table must say the same.

        Only once the agents are drained: the two tables are read one after the other.
        """
        got = await self.cloud.ledger_order_ids()
        assert sorted(await self.cloud.orders_table()) == sorted(got)
        return got


@pytest.fixture
async def world(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    port = free_port()
    cloud = RealCloudProc(tmp_path / "cloud", port, f"sqlite:///{tmp_path / 'cloud' / 'cloud.db'}")
    link = await cloud.init()
    proxy = await FaultProxy("127.0.0.1", port).start()
    w = World(tmp_path, cloud, link, proxy, [cloud])
    yield w
    for p in w.procs:
        await p.stop()
    await proxy.close()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for p in w.procs:
            print(f"==== {p.name} log ====\n{p.tail(80)}")


async def test_given_the_cloud_down_for_the_whole_burst_when_it_starts_then_all_once(
    world: World,
) -> None:
    agent = world.agent()
    await agent.start()
    ok = await agent.post_orders(orders("down", 300))
    h = await agent.health()
    assert h["cloud"]["reachable"] is False
    assert h["outbox"]["pending"] + h["outbox"]["sent"] == 300
    await world.cloud.start()
    await agent.wait_drained()
    exactly_once(ok, await world.ledger())
    assert (await agent.health())["outbox"]["dead"] == 0


async def test_given_the_cloud_answering_500_for_a_while_then_all_once(world: World) -> None:
    await world.cloud.start()
    agent = world.agent()
    await agent.start()
    world.proxy.fail_http(500)  # until healed
    ok = await agent.post_orders(orders("five-hundred", 200))
    await poll(lambda: _at_least(world.proxy.stats.injected, 3), "three injected 500s")
    h = await agent.health()
    assert "HTTP 500" in (h["cloud"]["last_error"] or "")
    assert h["outbox"]["dead"] == 0 and not await world.ledger()
    world.proxy.heal()
    await agent.wait_drained()
    exactly_once(ok, await world.ledger())


async def _at_least(value: int, n: int) -> bool:
    return value >= n


async def test_given_answers_cut_after_the_cloud_committed_then_all_once(world: World) -> None:
    await world.cloud.start()
    agent = world.agent()
    world.proxy.cut_after_response(times=3)
    await agent.start()
    ok: list[str] = []
    for i in range(5):  # several bursts so several batches get cut
        ok += await agent.post_orders(orders(f"cut{i}", 60))
    await agent.wait_drained()
    assert world.proxy.stats.cuts == 3
    exactly_once(ok, await world.ledger())


async def test_given_the_cloud_slower_than_the_agents_timeout_then_all_once(
    world: World,
) -> None:
    await world.cloud.start()
    agent = world.agent(timeout_s=0.5)
    await agent.start()
    world.proxy.delay_s = 1.5
    ok = await agent.post_orders(orders("slow", 100))

    async def committed_unheard() -> bool:
        got = set(await world.cloud.ledger_order_ids())
        return set(ok) <= got

    await poll(committed_unheard, "the cloud to have committed every order")
    h = await agent.health()
    assert h["outbox"]["acked"] < 100 and "no answer within" in (h["cloud"]["last_error"] or "")
    world.proxy.heal()
    await agent.wait_drained()
    exactly_once(ok, await world.ledger())


async def test_given_the_agent_sigkilled_during_uploads_several_times_then_all_once(
    world: World,
) -> None:
    agent = world.agent(batch_size=50)
    await agent.start()
    ok = await agent.post_orders(orders("kill-a", 1500))
    await world.cloud.start()
    world.proxy.delay_s = 0.05  # each batch takes a moment: kills land mid-upload
    for round_ in range(4):
        seen = len(await world.cloud.ledger_order_ids())

        async def progressed(seen: int = seen, sent: int = len(ok)) -> bool:
            # uploading mid-way, or everything already in: a fast cloud can take the whole
            # backlog between two rounds, and then there is nothing left to progress by 100
            got = len(await world.cloud.ledger_order_ids())
            return got > seen + 100 or got >= sent

        await poll(progressed, f"uploads to progress before kill {round_}")
        await agent.kill()
        await agent.start()
        ok += await agent.post_orders(orders(f"kill-b{round_}", 50))
    world.proxy.heal()
    h = await agent.wait_drained()
    assert h["outbox"]["dead"] == 0
    exactly_once(ok, await world.ledger())


async def test_given_one_poison_event_among_1000_then_999_applied_one_dead_nothing_stuck(
    world: World, tmp_path: Path
) -> None:
    await world.cloud.start()
    agent = world.agent()
    await agent.start()
    bodies = orders("p", 1000)
    bodies[500]["customer"] = {"card": new_card_code()}  # unknown to the cloud: accepted offline
    ok = await agent.post_orders(bodies)
    h = await agent.wait_drained()
    assert (h["outbox"]["acked"], h["outbox"]["dead"]) == (999, 1)
    assert h["status"] == "degraded"
    ledger = await world.ledger()
    exactly_once([o for o in ok if o != "p-500"], ledger)
    proc = await asyncio.create_subprocess_exec(
        agent.args[0],
        "queue",
        "dead",
        "--config",
        str(agent.home / "agent.toml"),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    lines = out.decode().strip().splitlines()
    assert len(lines) == 1 and "rejected by the cloud: unknown card" in lines[0]


async def test_given_a_stopped_agent_then_queue_flush_drains_to_the_cloud_or_says_why_not(
    world: World,
) -> None:
    agent = world.agent()
    await agent.start()
    ok = await agent.post_orders(orders("flush", 700))
    await agent.stop()  # the cloud is still down: everything is queued

    async def flush() -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            agent.args[0], "queue", "flush", "--config", str(agent.home / "agent.toml"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    code, _, err = await flush()
    assert code == 1
    assert "cannot flush to the cloud" in err and "700 event(s) are still queued and safe" in err
    await world.cloud.start()
    code, out, err = await flush()
    assert code == 0, err
    assert "flushed: 700 applied, 0 already there, 0 refused" in out
    assert "700/700 events 100%" in err  # the progress bar
    exactly_once(ok, await world.ledger())
