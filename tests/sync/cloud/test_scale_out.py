"""Scale-out: two ``stampedge cloud`` processes on one fresh PostgreSQL database; many devices
post overlapping batches to both at once; every event lands in the ledger exactly once and every
card's stamps add up."""

import asyncio
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sync.cloud.store import open_store
from tests.sync.cloud.conftest import event, order
from tests.sync.cloud.procs import CloudProcess, cloud_init, write_config

DEVICES = 8
EVENTS_PER_DEVICE = 400
WINDOW, STRIDE = 120, 60  # each event travels in two overlapping batches, to both processes


def _events(device: int, cards: list[str], rnd: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(EVENTS_PER_DEVICE):
        card = {"card": rnd.choice(cards)}
        if i % 4 == 3:
            body = {"scan_id": f"d{device}-{i}", "stamps": 1, "customer": card}
            out.append(event("scan.stamped", body))
        else:
            out.append(event("order.stamped", order(f"d{device}-{i}", rnd.randint(1, 3), card)))
    return out


Seen = dict[str, list[str]]


async def _device_run(
    session: aiohttp.ClientSession, urls: list[str], key: str, events: list[Any], seen: Seen
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    starts = range(0, len(events), STRIDE)
    for n, start in enumerate(starts):
        batch = {"events": events[start : start + WINDOW]}
        posts = [session.post(f"{urls[(n + k) % 2]}/v1/sync/events", json=batch, headers=headers)
                 for k in range(2)]  # fmt: skip
        for resp in await asyncio.gather(*posts):
            async with resp:
                assert resp.status == 200, await resp.text()
                for r in (await resp.json())["results"]:
                    seen[r["id"]].append(r["status"])


@pytest.mark.slow
@pytest.mark.postgres
async def test_given_two_processes_on_one_database_then_every_event_once(
    fresh_pg_dsn: str, tmp_path: Path
) -> None:
    config_a, port_a = write_config(tmp_path, fresh_pg_dsn)
    config_b, port_b = write_config(tmp_path, fresh_pg_dsn)
    link = cloud_init(config_a, "--goal", "10")
    store = await open_store(fresh_pg_dsn)
    try:
        keys = [link["device_key"]]
        branch2 = await store.create_branch(
            link["business_id"], "Second", "UTC",
            (await store.branch(link["business_id"], link["branch_id"])).program,
            datetime.now(UTC),
        )  # fmt: skip
        for i in range(1, DEVICES):
            branch = link["branch_id"] if i % 2 else branch2.branch_id
            made = await store.create_device(
                link["business_id"], branch, f"t{i}", datetime.now(UTC)
            )
            keys.append(made.device_key)
    finally:
        await store.close()
    procs = [CloudProcess(config_a, port_a, tmp_path / "a.log"),
             CloudProcess(config_b, port_b, tmp_path / "b.log")]  # fmt: skip
    try:
        for p in procs:
            await p.wait_healthy()
        urls = [p.url for p in procs]
        admin = {"Authorization": f"Bearer {link['admin_key']}"}
        async with aiohttp.ClientSession() as session:
            cards = []
            for i in range(20):
                async with session.post(f"{urls[i % 2]}/v1/customers", headers=admin,
                                        json={"email": f"c{i}@example.com"}) as resp:  # fmt: skip
                    assert resp.status == 201
                    cards.append((await resp.json())["card_code"])
            rnd = random.Random(5)
            plans = [_events(d, cards, rnd) for d in range(DEVICES)]
            seen: dict[str, list[str]] = defaultdict(list)
            await asyncio.gather(*(_device_run(session, urls, keys[d], plans[d], seen)
                                   for d in range(DEVICES)))  # fmt: skip
    finally:
        logs = [p.stop() for p in procs]
    all_ids = {e["id"] for plan in plans for e in plan}
    assert set(seen) == all_ids
    for eid, statuses in seen.items():
        counts = Counter(statuses)
        assert counts["applied"] == 1 and counts["rejected"] == 0, (eid, statuses)
    check = await open_store(fresh_pg_dsn)
    try:
        async with check.db.read() as tx:
            rows = await tx.fetch("SELECT id FROM events")
            assert sorted(r["id"] for r in rows) == sorted(all_ids)
            assert len(rows) == DEVICES * EVENTS_PER_DEVICE
            per_card = await tx.fetch(
                "SELECT c.balance, (SELECT COALESCE(SUM(delta), 0) FROM entries e "
                "WHERE e.customer_id = c.id) AS ledger, (SELECT COUNT(*) FROM rewards r "
                "WHERE r.customer_id = c.id) AS rewards FROM customers c"
            )
            credited = await tx.fetchval(
                "SELECT SUM(delta) FROM entries WHERE kind IN ('order', 'scan')"
            )
    finally:
        await check.close()
    wanted = sum(e["payload"]["stamps"] for plan in plans for e in plan)
    assert int(credited) == wanted
    assert all(r["balance"] == r["ledger"] for r in per_card)
    assert sum(r["balance"] + 10 * r["rewards"] for r in per_card) == wanted
    assert all(uuid.UUID(i) for i in all_ids)
    assert not any("unexpected error on" in log for log in logs)
