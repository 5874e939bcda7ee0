"""POS orders per second against a running agent, beside the HTTP ceiling and persist-queue.

Run by hand: ``python bench/orders.py [--orders 6000] [--clients 16]``. Prints a Markdown table:
the agent (subprocess, real SQLite file, WAL + synchronous=FULL, group commit), a bare aiohttp
app whose handler does nothing (the ceiling of HTTP on this machine, same client, same run), and
persist-queue's ``SQLiteAckQueue.put`` for the same payloads (a known durable queue, in-process,
one put per commit). Also the agent's idle RSS and its start-to-healthy time.
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, pct, post_load, rss_mb, spawn, table, wait_ready

SECRET = "bench-device-secret-0123456789"


def _bodies(n: int, prefix: str) -> list[dict[str, object]]:
    return [{"order_id": f"{prefix}-{i}", "total": "23.50", "till": "till-1"} for i in range(n)]


async def _measure(url: str, n: int, clients: int, prefix: str) -> dict[str, float]:
    await post_load(url, _bodies(200, prefix + "w"), clients)  # warm-up
    seconds, lat, errors = await post_load(url, _bodies(n, prefix), clients)
    if errors:
        raise RuntimeError(f"{errors} requests failed against {url}")
    return {
        "rate": n / seconds,
        "p50": pct(lat, 50) * 1000,
        "p99": pct(lat, 99) * 1000,
    }


def _persist_queue_rate(n: int, tmp: Path) -> float:
    from persistqueue import SQLiteAckQueue  # type: ignore[import-untyped]

    q = SQLiteAckQueue(str(tmp / "pq"), multithreading=True, auto_commit=True)
    bodies = [json.dumps(b) for b in _bodies(n, "pq")]
    start = time.perf_counter()
    for b in bodies:
        q.put(b)
    return n / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        config = tmp / "agent.toml"
        config.write_text(
            f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{tmp / "agent"}"\n'
            f'[cloud]\nurl = ""\ndevice_key = "sk_1_bench"\ndevice_secret = "{SECRET}"\n'
        )
        agent = spawn(["-m", "agent.cli", "agent", "--config", str(config)])
        try:
            start_s = await wait_ready(f"http://127.0.0.1:{port}/health")
            await asyncio.sleep(1.0)
            idle_rss = rss_mb(agent.pid)
            got = await _measure(
                f"http://127.0.0.1:{port}/v1/orders", args.orders, args.clients, "a"
            )
            loaded_rss = rss_mb(agent.pid)
        finally:
            agent.terminate()
            agent.wait()
        eport = free_port()
        empty = spawn([str(Path(__file__).parent / "empty_server.py"), str(eport)])
        try:
            await wait_ready(f"http://127.0.0.1:{eport}/health")
            ceiling = await _measure(
                f"http://127.0.0.1:{eport}/v1/orders", args.orders, args.clients, "e"
            )
        finally:
            empty.terminate()
            empty.wait()
        pq = await asyncio.to_thread(_persist_queue_rate, min(args.orders, 3000), tmp)
    rows = [
        [
            "agent POST /v1/orders (durable)",
            f"{got['rate']:.0f}",
            f"{got['p50']:.2f}",
            f"{got['p99']:.2f}",
            f"{got['rate'] / ceiling['rate']:.2f}",
        ],
        [
            "bare aiohttp, empty handler",
            f"{ceiling['rate']:.0f}",
            f"{ceiling['p50']:.2f}",
            f"{ceiling['p99']:.2f}",
            "1.00",
        ],
        [
            "persist-queue SQLiteAckQueue.put",
            f"{pq:.0f}",
            "-",
            "-",
            f"{pq / ceiling['rate']:.2f}",
        ],
    ]
    print(f"{args.orders} orders, {args.clients} keep-alive clients\n")
    print(table(["what", "orders/s", "p50 ms", "p99 ms", "ratio to ceiling"], rows))
    print()
    print(
        table(
            ["agent figure", "value"],
            [
                ["start to healthy", f"{start_s:.2f} s"],
                ["idle RSS", f"{idle_rss:.1f} MB"],
                ["RSS after the run", f"{loaded_rss:.1f} MB"],
                ["agent / persist-queue", f"{got['rate'] / pq:.1f}x"],
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
