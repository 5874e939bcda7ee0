"""POS orders per second against a running agent, beside the HTTP ceiling and persist-queue.

Run by hand: ``python bench/orders.py [--orders 6000] [--clients 16] [--seconds 8]``. Prints a
Markdown table: the agent (subprocess, real SQLite file, WAL + synchronous=FULL, group commit), a
bare aiohttp app whose handler does nothing (the ceiling of HTTP on this machine, same load, same
run), and persist-queue's ``SQLiteAckQueue.put`` for the same payloads (a known durable queue,
in-process, one put per commit). Also the agent's idle RSS and its start-to-healthy time.

Two load generators, each with 16 keep-alive connections:

- a Python client (aiohttp, one event loop): it costs more CPU per request than the empty
  handler does, so against the empty handler *it* is the bottleneck and the "ceiling" it
  measures is its own (on this 2-core machine it and the server share the CPUs);
- ``wrk`` (C, epoll; ``apt-get install wrk``), when installed: a few microseconds per request,
  so the empty handler's rate is the server's true ceiling. Its script is ``wrk_orders.lua``.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
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


WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_orders.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, clients: int, seconds: int, prefix: str) -> dict[str, float]:
    """``wrk`` against ``url`` (one thread, ``clients`` connections); rate, p50 and p99 in ms."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT), url],
        env={**os.environ, "STAMPEDGE_BENCH_PREFIX": prefix},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests against {url}:\n{out}")
    lat = {
        q: float(v) * _UNITS[u] for q, v, u in re.findall(r"(50|99)%\s+([\d.]+)(us|ms|s)\b", out)
    }
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None or set(lat) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return {"rate": float(rate.group(1)), "p50": lat["50"], "p99": lat["99"]}


def _measure_wrk(url: str, clients: int, seconds: int, prefix: str) -> dict[str, float]:
    _wrk(url, clients, 2, prefix + "w")  # warm-up
    return _wrk(url, clients, seconds, prefix)


def _persist_queue_rate(n: int, tmp: Path) -> float:
    from persistqueue import SQLiteAckQueue  # type: ignore[import-untyped]

    q = SQLiteAckQueue(str(tmp / "pq"), multithreading=True, auto_commit=True)
    bodies = [json.dumps(b) for b in _bodies(n, "pq")]
    start = time.perf_counter()
    for b in bodies:
        q.put(b)
    return n / (time.perf_counter() - start)


Figures = dict[str, float]


async def _load(url: str, args: argparse.Namespace, prefix: str) -> dict[str, Figures]:
    """The same load from each generator available: {"python": ..., "wrk": ...}."""
    got = {"python": await _measure(url, args.orders, args.clients, prefix)}
    if args.wrk:
        got["wrk"] = await asyncio.to_thread(
            _measure_wrk, url, args.clients, args.seconds, prefix + "k"
        )
    return got


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=6000, help="per run of the Python client")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=8, help="per run of wrk")
    args = parser.parse_args()
    args.wrk = shutil.which("wrk") is not None
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
            got = await _load(f"http://127.0.0.1:{port}/v1/orders", args, "a")
            loaded_rss = rss_mb(agent.pid)
        finally:
            agent.terminate()
            agent.wait()
        eport = free_port()
        empty = spawn([str(Path(__file__).parent / "empty_server.py"), str(eport)])
        try:
            await wait_ready(f"http://127.0.0.1:{eport}/health")
            ceiling = await _load(f"http://127.0.0.1:{eport}/v1/orders", args, "e")
        finally:
            empty.terminate()
            empty.wait()
        pq = await asyncio.to_thread(_persist_queue_rate, min(args.orders, 3000), tmp)
    rows = []
    for gen, label in (("python", "Python client"), ("wrk", "wrk")):
        if gen not in got:
            continue
        agent_f, empty_f = got[gen], ceiling[gen]
        for what, f in (
            ("agent POST /v1/orders (durable)", agent_f),
            ("bare aiohttp, empty handler", empty_f),
        ):
            rows.append([
                label, what, f"{f['rate']:.0f}", f"{f['p50']:.2f}", f"{f['p99']:.2f}",
                f"{f['rate'] / empty_f['rate']:.2f}",
            ])  # fmt: skip
    ceil = ceiling["wrk" if "wrk" in ceiling else "python"]["rate"]
    rows.append(
        ["-", "persist-queue SQLiteAckQueue.put", f"{pq:.0f}", "-", "-", f"{pq / ceil:.2f}"]
    )
    print(
        f"{args.clients} keep-alive connections; Python client {args.orders} orders a run", end=""
    )
    print(f", wrk {args.seconds} s a run\n" if args.wrk else " (wrk not installed)\n")
    print(table(["load", "what", "orders/s", "p50 ms", "p99 ms", "ratio to ceiling"], rows))
    print()
    print(
        table(
            ["agent figure", "value"],
            [
                ["start to healthy", f"{start_s:.2f} s"],
                ["idle RSS", f"{idle_rss:.1f} MB"],
                ["RSS after the run", f"{loaded_rss:.1f} MB"],
                ["agent / persist-queue", f"{got['python']['rate'] / pq:.1f}x"],
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
