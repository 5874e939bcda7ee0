"""Two tills with the same check number (issue #14): a POS's check ids are unique per till only.

Two real agents (two device keys of one branch) and a real cloud, on SQLite and PostgreSQL.
Check ``1001`` closed at two tills of one agent and at a till of the other agent is credited
three times, to the card and in the cloud's ledger; the same till sending it again is still one
check (200 with the same answer, 409 with another body) and the cloud holds each check once.
"""

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import free_port
from tests.sync.edge.e2e import AgentProc, RealCloudProc, get_json

CHECK = "1001"


async def test_given_two_agents_and_two_tills_sending_check_1001_on_sqlite_then_all_credited(
    tmp_path: Path,
) -> None:
    await _same_check_number(tmp_path, f"sqlite:///{tmp_path / 'cloud' / 'cloud.db'}")


@pytest.mark.postgres
async def test_given_two_agents_and_two_tills_sending_check_1001_on_postgresql_then_all_credited(
    tmp_path: Path, fresh_pg_dsn: str
) -> None:
    await _same_check_number(tmp_path, fresh_pg_dsn)


async def _post(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s,
        s.post(url, json=body) as r,
    ):
        return r.status, await r.json()


async def _get(url: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s,
        s.get(url) as r,
    ):
        return r.status, await r.json()


async def _same_check_number(tmp_path: Path, database: str) -> None:
    cloud = RealCloudProc(tmp_path / "cloud", free_port(), database)
    link = await cloud.init()
    agents: list[AgentProc] = []
    try:
        await cloud.start()
        admin = link["admin_key"]
        second = await cloud.admin_post(
            admin, "/v1/devices", {"branch_id": link["branch_id"], "label": "second agent"}
        )
        card = await cloud.admin_post(admin, "/v1/customers", {"email": "ana@example.com"})
        for name, dev in (("a", link), ("b", second)):
            agent = AgentProc(
                tmp_path / f"agent-{name}",
                {
                    "url": cloud.url,
                    "device_key": dev["device_key"],
                    "device_secret": dev["device_secret"],
                    "claim_base_url": cloud.url + "/c/",
                },
            )
            agents.append(agent)
            await agent.start()
        a, b = agents
        who = {"card": card["card_code"]}

        # Given check 1001 at two tills of agent A and at a till of agent B, each identified
        answers = []
        for agent, till in ((a, "till-1"), (a, "till-2"), (b, "till-1")):
            status, body = await _post(
                agent.url + "/v1/orders",
                {"order_id": CHECK, "total": "5.00", "till": till, "customer": who},
            )
            assert status == 201, body
            answers.append(body)
        # and receipt-QR checks 2002 at both tills of agent A: two QRs, each claimable
        qr_urls = []
        for till in ("till-1", "till-2"):
            status, body = await _post(
                a.url + "/v1/orders", {"order_id": "2002", "total": "5.00", "till": till}
            )
            assert status == 201 and body["claim"] is not None, body
            qr_urls.append(body["claim"]["url"])
        assert qr_urls[0] != qr_urls[1]

        # When the same till sends check 1001 again: the same answer; another body: 409
        status, again = await _post(
            a.url + "/v1/orders",
            {"order_id": CHECK, "total": "5.00", "till": "till-1", "customer": who},
        )
        assert (status, again) == (200, answers[0])
        status, other = await _post(
            a.url + "/v1/orders",
            {"order_id": CHECK, "total": "9.00", "till": "till-1", "customer": who},
        )
        assert status == 409 and other["error"]["code"] == "order_conflict"

        # Then every check reaches the cloud once and is credited
        for agent in agents:
            health = await agent.wait_drained()
            assert health["outbox"]["dead"] == 0, health
        got = await get_json(
            f"{cloud.url}/v1/cards/{card['card_code']}", {"Authorization": f"Bearer {admin}"}
        )
        assert got["balance"] == 3
        assert sorted(await cloud.ledger_order_ids(link["branch_id"])) == [
            CHECK, CHECK, CHECK, "2002", "2002"
        ]  # fmt: skip
        assert sorted(await cloud.orders_table(link["branch_id"])) == [
            CHECK, CHECK, CHECK, "2002", "2002"
        ]  # fmt: skip
        for n, url in enumerate(qr_urls):
            token = url.rstrip("/").rsplit("/", 1)[1]
            status, claimed = await _post(
                f"{cloud.url}/v1/claims/{token}", {"email": f"qr{n}@example.com"}
            )
            assert status in (200, 201) and claimed["stamps"] == 1, claimed

        # A check two tills used is named with ?till=; without it the agent says which exist
        status, unclear = await _get(f"{a.url}/v1/orders/{CHECK}")
        assert status == 409 and unclear["error"]["code"] == "ambiguous_order"
        status, view = await _get(f"{a.url}/v1/orders/{CHECK}?till=till-2")
        assert status == 200 and view["order"]["till"] == "till-2"
        status, only = await _get(f"{b.url}/v1/orders/{CHECK}")
        assert status == 200 and only["order"]["till"] == "till-1"

        # Voiding check 1001 of till-2 takes back that check's stamp only
        status, void = await _post(f"{a.url}/v1/orders/{CHECK}/void?till=till-2")
        assert status == 200 and void["stamps"] == 1, void
        await a.wait_drained()
        got = await get_json(
            f"{cloud.url}/v1/cards/{card['card_code']}", {"Authorization": f"Bearer {admin}"}
        )
        assert got["balance"] == 2
        voided = await cloud.query("SELECT scope FROM orders WHERE voided_us IS NOT NULL")
        assert [r[0] for r in voided] == [f"{link['device_id']}/till-2"]
    finally:
        for agent in agents:
            await agent.stop()
        await cloud.stop()
        for p in [cloud, *agents]:
            if p.proc is not None and p.proc.returncode not in (0, -15, None):
                print(f"==== {p.name} ({p.log}) ====\n{p.tail(60)}")
