"""Durability: the agent SIGKILLed under load, again and again; no acknowledged order is lost."""

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp

from tests.agent.conftest import SECRET
from tests.conftest import REPO, free_port

CYCLES = 10
CLIENTS = 8


async def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(f"agent exited with {proc.returncode}")
            try:
                async with session.get(url + "/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("agent did not become healthy")


async def post_orders_until(
    url: str, prefix: str, acked: set[str], unsure: set[str], stop: asyncio.Event
) -> None:
    n = 0
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            order_id = f"{prefix}-{n}"
            n += 1
            body = {"order_id": order_id, "total": "12.50", "till": prefix}
            try:
                async with session.post(url + "/v1/orders", json=body) as resp:
                    if resp.status in (200, 201):
                        acked.add(order_id)
                    else:
                        unsure.add(order_id)
            except (aiohttp.ClientError, OSError):
                unsure.add(order_id)
                return


async def resend_unsure(url: str, acked: set[str], unsure: set[str]) -> None:
    """Send again the orders cut off in flight, as a POS retries; each must now answer 2xx."""
    async with aiohttp.ClientSession() as session:
        for order_id in sorted(unsure):
            till = order_id.rsplit("-", 1)[0]
            body = {"order_id": order_id, "total": "12.50", "till": till}
            async with session.post(url + "/v1/orders", json=body) as resp:
                assert resp.status in (200, 201), await resp.text()
                acked.add(order_id)
    unsure.clear()


def start_agent(config: Path) -> "subprocess.Popen[bytes]":
    """``stampedge agent --config`` as a subprocess of this checkout, its output dropped."""
    return subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "agent", "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_given_sigkill_at_random_moments_then_every_2xx_order_is_stored_once(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{data}"\n'
        f'[cloud]\nurl = ""\ndevice_key = "sk_3_x"\ndevice_secret = "{SECRET}"\n'
    )
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(1234)
    acked: set[str] = set()
    unsure: set[str] = set()
    for cycle in range(CYCLES):
        proc = start_agent(config)
        try:
            await wait_healthy(url, proc)
            await resend_unsure(url, acked, unsure)
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(post_orders_until(url, f"c{cycle}x{i}", acked, unsure, stop))
                for i in range(CLIENTS)
            ]
            await asyncio.sleep(rng.uniform(0.2, 0.8))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        stop.set()
        await asyncio.gather(*tasks)

    assert len(acked) > CYCLES * CLIENTS
    with sqlite3.connect(data / "agent.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = Counter(
            json.loads(payload)["order_id"]
            for (payload,) in db.execute("SELECT payload FROM outbox")
        )
        orders = Counter(r[0] for r in db.execute("SELECT order_id FROM orders"))
    missing = acked - set(events)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
    assert all(events[o] == 1 for o in acked), "an order was stored twice"
    assert all(orders[o] == 1 for o in acked)
    assert set(events) - acked <= unsure  # anything extra was in flight at a kill
