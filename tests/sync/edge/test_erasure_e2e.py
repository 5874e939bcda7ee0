"""An erasure reaches the till: real ``stampedge cloud`` and ``stampedge agent`` processes.

A customer is identified at the till by email and card code; their checks reach the cloud and
their card reaches the till's cache. The owner erases them in the cloud: the till hears of it
with its next state pull and forgets them. Their name, email and card code are then in neither
database file nor its write-ahead log, while the branch's figures are what they were.
"""

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import free_port
from tests.sync.edge.e2e import AgentProc, RealCloudProc, poll

NAME = "Philippa Quartermaine"
EMAIL = "philippa.q@example.net"


def _bytes_of(folder: Path) -> bytes:
    """Every SQLite file (database, WAL, journal) under ``folder``, lower-cased."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*.db*"))).lower()


async def _cached(agent: AgentProc, customer_id: str) -> bool:
    def read() -> bool:
        import sqlite3

        conn = sqlite3.connect(f"file:{agent.home / 'data' / 'agent.db'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT 1 FROM cards WHERE customer_id = ?", (customer_id,))
            return row.fetchone() is not None
        finally:
            conn.close()

    return await asyncio.to_thread(read)


async def test_given_an_erased_customer_then_till_and_cloud_keep_no_name_and_figures_stay(
    tmp_path: Path,
) -> None:
    cloud = RealCloudProc(tmp_path / "cloud", free_port(), f"sqlite:///{tmp_path}/cloud/cloud.db")
    link = await cloud.init()
    agent = AgentProc(
        tmp_path / "agent",
        {"url": cloud.url, "device_key": link["device_key"],
         "device_secret": link["device_secret"]},
    )  # fmt: skip
    admin = {"Authorization": f"Bearer {link['admin_key']}"}
    try:
        await cloud.start()
        customer = await cloud.admin_post(
            link["admin_key"], "/v1/customers", {"email": EMAIL, "name": NAME}
        )
        cid = customer["customer_id"]
        await agent.start()
        base = {"total": "4.50", "currency": "EUR", "till": "till-1", "receipt_qr": False}
        await agent.post_orders(
            [
                {**base, "order_id": "P-1", "customer": {"email": "Philippa.Q@Example.NET"}},
                {**base, "order_id": "P-2", "customer": {"card": customer["card_code"].lower()}},
                {**base, "order_id": "P-3", "customer": {"number": customer["number"]}},
            ],
            clients=1,
        )
        await agent.wait_drained()
        await poll(lambda: _cached(agent, cid), "the card to reach the till's cache")
        before = await cloud.stats(link["admin_key"], link["branch_id"])
        assert sum(d["orders"] for d in before["days"]) == 3

        async with (
            aiohttp.ClientSession() as s,
            s.delete(f"{cloud.url}/v1/customers/{cid}", headers=admin) as r,
        ):
            assert r.status == 200, await r.text()

        async def forgotten() -> bool:
            return not await _cached(agent, cid)

        await poll(forgotten, "the till to forget the erased card")
        assert await cloud.stats(link["admin_key"], link["branch_id"]) == before
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{agent.url}/v1/customers", params={"q": EMAIL}) as r,
        ):
            found: Any = await r.json()
        assert found.get("customers", []) == [], found
    finally:
        await agent.stop()
        await cloud.stop()
    needles = [NAME, EMAIL, customer["card_code"]]
    agent_files = await asyncio.to_thread(_bytes_of, tmp_path / "agent")
    assert [n for n in needles if n.lower().encode() in agent_files] == []
    cloud_files = await asyncio.to_thread(_bytes_of, tmp_path / "cloud")
    assert [n for n in needles if n.lower().encode() in cloud_files] == []
