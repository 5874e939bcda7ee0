"""Helpers shared by the benchmarks: subprocess servers, load clients, percentiles, tables."""

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def spawn(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a Python module of this repo as a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def wait_ready(url: str, timeout: float = 30.0) -> float:
    """Seconds until ``url`` answers 200."""
    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - start < timeout:
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.005)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def post_load(
    url: str, bodies: list[dict[str, Any]], clients: int
) -> tuple[float, list[float], int]:
    """POST ``bodies`` with ``clients`` keep-alive connections; (seconds, latencies, errors)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []
    errors = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while not queue.empty():
            body = queue.get_nowait()
            t = time.perf_counter()
            async with session.post(url, json=body) as resp:
                await resp.read()
                if resp.status >= 300:
                    errors += 1
            latencies.append(time.perf_counter() - t)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(clients)))
        return time.perf_counter() - start, latencies, errors


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it goes straight into the README)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def median(values: list[float]) -> float:
    """The median, NaN for nothing."""
    return statistics.median(values) if values else float("nan")
