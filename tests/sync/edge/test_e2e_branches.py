"""Three branches with two devices each, syncing into one real cloud at once, SQLite and PostgreSQL.

Every agent records its checks while the link is refused, then the link heals and the six agents
drain at the same time. Per branch: the orders answered 2xx are the cloud's ledger exactly once,
and ``GET /v1/stats`` (asked with the branch's own device key) counts them per branch and per
device. The same order ids are used in every branch: the POS check id is unique per branch only.
"""

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.fakes.fault_proxy import FaultProxy
from tests.sync.edge.e2e import AgentProc, RealCloudProc, exactly_once, orders

PER_DEVICE = {1: (40, 60), 2: (70, 30), 3: (25, 95)}  # branch -> orders of its two devices


async def test_given_three_branches_of_two_devices_at_once_on_sqlite_then_per_branch_right(
    tmp_path: Path,
) -> None:
    await three_branches_two_devices(tmp_path, f"sqlite:///{tmp_path / 'cloud' / 'cloud.db'}")


@pytest.mark.postgres
async def test_given_three_branches_of_two_devices_at_once_on_postgresql_then_per_branch_right(
    tmp_path: Path, fresh_pg_dsn: str
) -> None:
    await three_branches_two_devices(tmp_path, fresh_pg_dsn)


async def three_branches_two_devices(tmp_path: Path, database: str) -> None:
    """The scenario, on the cloud database ``database``."""
    port = free_port()
    cloud = RealCloudProc(tmp_path / "cloud", port, database)
    link = await cloud.init(branch="Branch 1")
    proxy = await FaultProxy("127.0.0.1", port).start()
    agents: list[AgentProc] = []
    try:
        await cloud.start()
        admin = link["admin_key"]
        branches = {1: link["branch_id"]}
        devices: dict[int, list[dict[str, Any]]] = {
            1: [{"device_key": link["device_key"], "device_secret": link["device_secret"]}]
        }
        for b in (2, 3):
            made = await cloud.admin_post(admin, "/v1/branches", {"name": f"Branch {b}"})
            branches[b] = made["branch_id"]
            devices[b] = []
        for b, branch_id in branches.items():
            while len(devices[b]) < 2:
                devices[b].append(
                    await cloud.admin_post(
                        admin, "/v1/devices", {"branch_id": branch_id, "label": f"till-{b}"}
                    )
                )
        proxy.refuse = True  # the shops are offline while the checks come in
        ok: dict[int, list[str]] = {b: [] for b in branches}
        for b, (n1, n2) in PER_DEVICE.items():
            for d, n in ((0, n1), (1, n2)):
                dev = devices[b][d]
                agent = AgentProc(
                    tmp_path / f"agent-{b}-{d}",
                    {
                        "url": proxy.url,
                        "device_key": dev["device_key"],
                        "device_secret": dev["device_secret"],
                        "claim_base_url": cloud.url + "/c/",
                    },
                )
                agents.append(agent)
                await agent.start()
                ok[b] += await agent.post_orders(orders(f"till{d}", n))
        proxy.heal()  # the internet is back for everyone at once
        for agent in agents:
            h = await agent.wait_drained()
            assert h["outbox"]["dead"] == 0
        for b, branch_id in branches.items():
            ledger = await cloud.ledger_order_ids(branch_id)
            exactly_once(ok[b], ledger)
            assert sorted(await cloud.orders_table(branch_id)) == sorted(ledger)
            stats = await cloud.stats(devices[b][0]["device_key"], branch_id)
            assert stats["branch_id"] == branch_id
            assert stats["total"]["orders"] == sum(PER_DEVICE[b])
            assert stats["total"]["qr_issued"] == sum(PER_DEVICE[b])
            per_device = sorted(d["total"]["orders"] for d in stats["devices"])
            assert per_device == sorted(PER_DEVICE[b])
    finally:
        for agent in agents:
            await agent.stop()
        await cloud.stop()
        await proxy.close()
        for p in [cloud, *agents]:
            if p.proc is not None and p.proc.returncode not in (0, -15, None):
                print(f"==== {p.name} ({p.log}) ====\n{p.tail(60)}")
