"""Group commit under kill -9: many tills post small batches at once to a real ``stampedge cloud``
process, which shares transactions between their requests (PostgreSQL: ``group_commit.py``;
SQLite: the pipeline, ``ingest.py``); it is SIGKILLed mid-stream. Every event it acknowledged is
in the ledger, and after a restart every event sent again lands exactly once."""

import asyncio
import contextlib
import os
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.fleet import tree_pids
from sync.cloud.provision import init_business
from sync.cloud.store import open_db, open_store
from tests.sync.cloud.conftest import event, order
from tests.sync.cloud.procs import CloudProcess, write_config
from tests.sync.cloud.test_key_cache import counter

pytestmark = pytest.mark.slow

TILLS = 24
ACKS_BEFORE_KILL = 150  # batches acknowledged before the kill


async def _keys(store_url: str) -> list[str]:
    store = await open_store(store_url)
    try:
        keys = []
        for b in range(4):
            link = await init_business(store, business=f"B{b}", branch="Main", rule="per_order")
            keys.append(link["device_key"])
            for t in range(TILLS // 4 - 1):
                made = await store.create_device(
                    link["business_id"], link["branch_id"], f"t{t}", datetime.now(UTC)
                )
                keys.append(made.device_key)
        return keys
    finally:
        await store.close()


async def _till(
    http: aiohttp.ClientSession,
    url: str,
    key: str,
    n: int,
    sent: list[list[dict[str, Any]]],
    acked: set[str],
    enough: asyncio.Event,
) -> None:
    """Post batches of one to three events until the cloud goes away."""
    for i in range(10_000):
        batch = [event("order.recorded", order(f"{n}-{i}-{j}")) for j in range(1 + i % 3)]
        sent.append(batch)
        try:
            async with http.post(
                f"{url}/v1/sync/events",
                json={"events": batch},
                headers={"Authorization": f"Bearer {key}"},
            ) as resp:
                assert resp.status == 200, await resp.text()
                results = (await resp.json())["results"]
        except (aiohttp.ClientError, ConnectionError):
            return  # killed: this batch was not acknowledged
        assert {r["status"] for r in results} == {"applied"}
        acked.update(r["id"] for r in results)
        if len(acked) >= ACKS_BEFORE_KILL * 2:
            enough.set()


async def test_given_tills_posting_at_once_when_the_cloud_is_killed_then_no_ack_is_lost(
    store_url: str, tmp_path: Path
) -> None:
    """Given 24 tills posting small batches at once to a cloud process, when it is SIGKILLed
    mid-stream, then every event it answered ``applied`` is in the ledger; and when restarted
    and sent everything again, every event is stored exactly once (the rest ``duplicate``)."""
    keys = await _keys(store_url)
    config, port = write_config(tmp_path, store_url)
    cloud = CloudProcess(config, port, tmp_path / "cloud.log")
    sent: list[list[dict[str, Any]]] = []
    acked: set[str] = set()
    owner: dict[str, str] = {}
    try:
        await cloud.wait_healthy()
        enough = asyncio.Event()
        async with aiohttp.ClientSession() as http:
            tills = [
                asyncio.create_task(_till(http, cloud.url, key, n, sent, acked, enough))
                for n, key in enumerate(keys)
            ]
            await asyncio.wait_for(enough.wait(), 120)
            metrics = await (await http.get(f"{cloud.url}/metrics")).text()
            helpers = [pid for pid in tree_pids(cloud.proc.pid) if pid != cloud.proc.pid]
            cloud.proc.kill()  # SIGKILL, requests in flight
            for pid in helpers:  # its batch-reader helper would outlive it
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.gather(*tills)
    finally:
        cloud.stop()
    if store_url.startswith("postgres"):
        commits = counter(metrics, "stampedge_cloud_batch_commits_total")
        batches = counter(metrics, "stampedge_cloud_batch_commit_batches_total")
        assert 0 < commits < batches  # some transactions held the batches of several requests
    db = await open_db(store_url)
    try:
        async with db.read() as tx:
            stored = {str(r["id"]) for r in await tx.fetch("SELECT id FROM events")}
    finally:
        await db.close()
    assert acked <= stored, f"{len(acked - stored)} acknowledged events lost"
    for n, key in enumerate(keys):
        for batch in sent:
            if batch[0]["payload"]["order_id"].startswith(f"{n}-"):
                for e in batch:
                    owner[e["id"]] = key
    restarted = CloudProcess(config, port, tmp_path / "again.log")
    try:
        await restarted.wait_healthy()
        async with aiohttp.ClientSession() as http:
            for batch in sent:
                key = owner[batch[0]["id"]]
                async with http.post(
                    f"{restarted.url}/v1/sync/events",
                    json={"events": batch},
                    headers={"Authorization": f"Bearer {key}"},
                ) as resp:
                    assert resp.status == 200
                    for r in (await resp.json())["results"]:
                        wanted = "duplicate" if r["id"] in stored else "applied"
                        assert r["status"] == wanted, r
    finally:
        restarted.stop()
    db = await open_db(store_url)
    try:
        async with db.read() as tx:
            rows = await tx.fetch("SELECT id FROM events")
            orders = await tx.fetchval("SELECT COUNT(*) FROM orders")
    finally:
        await db.close()
    every = {e["id"] for batch in sent for e in batch}
    assert sorted(str(r["id"]) for r in rows) == sorted(every)
    assert int(orders) == len(every)
    assert all(uuid.UUID(i) for i in every)
