"""Quote latency: ``POST /v1/orders/quote`` for an identified customer, answered from the cloud
and from the agent's card cache, beside ``GET /health`` on the same agent in the same run (the
floor: the same HTTP path with no work). Run by hand from the repository root:

    python -m bench.quote [requests]          # default 2000 per row, one connection (a till)

A cloud (SQLite) and an agent run as subprocesses. The customer has a balance and two open
rewards. The agent first runs linked to the cloud (quotes come from the cloud); then it is
restarted on the same data with its cloud link pointing at a port nobody listens on (quotes
come from the cache the sync state filled). Goals (issue #15): cache quote p99 at most twice
the floor's p99; cloud quote p99 under 50 ms.
"""

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import free_port, median, pct, spawn, table, wait_ready

WARMUP = 50


async def timed(
    session: aiohttp.ClientSession, method: str, url: str, body: Any, n: int
) -> tuple[list[float], set[str]]:
    """``n`` requests one after another (after a warm-up): latencies, and the quotes' sources."""
    out: list[float] = []
    sources: set[str] = set()
    for i in range(n + WARMUP):
        start = time.perf_counter()
        async with session.request(method, url, json=body) as resp:
            data = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{method} {url}: {resp.status} {data[:200]!r}")
        took = time.perf_counter() - start
        if i >= WARMUP:
            out.append(took)
            if body is not None:
                sources.add(json.loads(data)["source"])
    return out, sources


def row(name: str, seconds: list[float], sources: set[str]) -> list[str]:
    ms = [s * 1000 for s in seconds]
    return [name, ",".join(sorted(sources)) or "-", str(len(ms)), f"{median(ms):.2f}",
            f"{pct(ms, 99):.2f}", f"{max(ms):.2f}"]  # fmt: skip


def provision(home: Path, cloud_port: int) -> dict[str, Any]:
    """``stampedge cloud init``: a by-amount program (goal 10) and an agent config."""
    config = home / "cloud.toml"
    config.write_text(
        f'[cloud]\nlisten = "127.0.0.1:{cloud_port}"\n'
        f'database = "sqlite:///{home / "cloud.db"}"\npublic_url = "http://127.0.0.1:{cloud_port}"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "agent.cli", "cloud", "init", "--config", str(config),
         "--business", "Bench", "--branch", "Main", "--rule", "by_amount", "--step", "2.5",
         "--goal", "10", "--write-agent-config", str(home / "agent.toml")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    link: dict[str, Any] = json.loads(out.stdout)
    return link


def agent_config(home: Path, port: int, cloud_url: str) -> Path:
    """The agent's file from ``cloud init``, on its own port and data, linked to ``cloud_url``."""
    text = (home / "agent.toml").read_text()
    lines = []
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip()
        key = line.split("=", 1)[0].strip()
        if section == "[agent]" and key in ("listen", "data_dir", "mode"):
            continue
        if section == "[cloud]" and key == "url":
            continue
        lines.append(line)
        if line.strip() == "[agent]":
            lines += [f'listen = "127.0.0.1:{port}"', f'data_dir = "{home / "agent-data"}"',
                      'mode = "identified"']  # fmt: skip
        if line.strip() == "[cloud]":
            lines += [f'url = "{cloud_url}"', "sync_interval_s = 0.5"]
    path = home / f"agent-{port}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cloud_port = free_port()
        link = provision(home, cloud_port)
        cloud_url = f"http://127.0.0.1:{cloud_port}"
        cloud = spawn(["-m", "agent.cli", "cloud", "--config", str(home / "cloud.toml")])
        procs = [cloud]
        try:
            await wait_ready(cloud_url + "/health")
            admin = {"Authorization": f"Bearer {link['admin_key']}"}
            device = {"Authorization": f"Bearer {link['device_key']}"}
            async with aiohttp.ClientSession() as s:
                async with s.post(cloud_url + "/v1/customers", json={"email": "b@example.com"},
                                  headers=admin) as r:  # fmt: skip
                    card = (await r.json())["card_code"]
                events = [{"id": f"00000000-0000-4000-8000-00000000000{i}", "type": "order.stamped",
                           "device_time": "2026-12-07T12:00:00+00:00",
                           "payload": {"order_id": f"seed-{i}", "total": "25", "currency": "EUR",
                                       "stamps": 10 if i < 2 else 4, "rule": "by_amount",
                                       "customer": {"card": card}}} for i in range(3)]  # fmt: skip
                async with s.post(cloud_url + "/v1/sync/events", json={"events": events},
                                  headers=device) as r:  # fmt: skip
                    assert r.status == 200, await r.text()
            body = {"total": "23.40", "customer": {"card": card}}
            rows = []
            for label, url in (("cloud", cloud_url), ("cache", f"http://127.0.0.1:{free_port()}")):
                port = free_port()
                agent = spawn(["-m", "agent.cli", "agent", "--config",
                               str(agent_config(home, port, url))])  # fmt: skip
                procs.append(agent)
                base = f"http://127.0.0.1:{port}"
                await wait_ready(base + "/health")
                async with aiohttp.ClientSession() as s:
                    if label == "cloud":  # the cache the second run answers from
                        deadline = time.monotonic() + 30
                        while time.monotonic() < deadline:
                            await asyncio.sleep(0.2)
                            async with s.get(base + "/health") as r:
                                if (await r.json())["cloud"]["last_sync_at"]:
                                    break
                        await asyncio.sleep(1.0)
                    health, _ = await timed(s, "GET", base + "/health", None, n)
                    quote, sources = await timed(s, "POST", base + "/v1/orders/quote", body, n)
                    async with s.post(base + "/v1/orders/quote", json=body) as r:
                        sample = await r.json()
                rows.append(row(f"GET /health (agent linked to {label})", health, set()))
                rows.append(row(f"quote from the {label}", quote, sources))
                agent.terminate()
                agent.wait(timeout=30)
                procs.remove(agent)
                print(f"sample quote ({label}): {json.dumps(sample)}", file=sys.stderr)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=30)
    print(table(["what", "source", "n", "p50 ms", "p99 ms", "max ms"], rows))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
