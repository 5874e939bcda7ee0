"""Scan latency: from the last byte a serial scanner writes on a pty to the stamp's event
committed in the agent's outbox (WAL, synchronous=FULL), beside a bare pyserial read loop on
another pty in the same run. Run by hand from the repository root:

    python -m bench.scan_latency [scans]        # default 500 (after 20 warm-up scans)

Prints a Markdown table of p50 / p99 / max in milliseconds. Goal: agent p99 <= 20 ms.
"""

import asyncio
import logging
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import serial
from aiohttp import web

from agent.http.app import build_app
from agent.scans.routes import SCANNING, ScanResult
from config import load_agent_settings
from drivers.framing import RawLine
from drivers.scanner_set import ScanContext
from sync.contract.card_code import new_card_code
from tests.fakes.scanner import PtyScanner

WARMUP = 20


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _row(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.2f} | {_pct(ms, 99):.2f} | {max(ms):.2f} |"
    )


def bare_pyserial(link: Path, n: int) -> list[float]:
    """A thread blocked in ``read_until(b"\\r")`` on the pty: the floor of the path."""
    scanner = PtyScanner(link)
    port = serial.Serial(str(link), 9600, timeout=None)
    got: queue.Queue[float] = queue.Queue()

    def reader() -> None:
        for _ in range(n + WARMUP):
            port.read_until(b"\r")
            got.put(time.perf_counter())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    out = []
    try:
        for i in range(n + WARMUP):
            sent = scanner.write_blocking(new_card_code().encode() + b"\r")
            read = got.get(timeout=10)
            if i >= WARMUP:
                out.append(read - sent)
    finally:
        thread.join(timeout=5)
        port.close()
        scanner.close()
    return out


async def agent_path(data: Path, link: Path, n: int) -> tuple[list[float], list[float]]:
    """The agent with a kiosk scanner on a pty: (last byte -> line read, -> event committed)."""
    scanner = PtyScanner(link)
    settings = load_agent_settings(
        None,
        {
            "agent": {"data_dir": str(data), "kiosk_cooldown_s": 0, "mode": "identified"},
            "scanner": [{"kind": "serial", "device": str(link), "mode": "kiosk"}],
        },
    )
    app = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    loop = asyncio.get_running_loop()
    try:
        channel = app[SCANNING]
        service = channel.service
        assert service is not None
        await asyncio.wait_for(channel.scanners[0].runner.opened.wait(), 10)
        read_at: dict[bytes, float] = {}
        done: queue.Queue[tuple[bytes, float]] = queue.Queue()
        scan: Callable[[RawLine | str, ScanContext], Any] = service.scan

        async def timed(raw: RawLine | str, ctx: ScanContext) -> ScanResult:
            key = raw if isinstance(raw, bytes) else b""
            read_at[key] = time.perf_counter()
            result: ScanResult = await scan(raw, ctx)
            assert result.outcome == "stamped", result
            done.put((key, time.perf_counter()))
            return result

        service.scan = timed  # type: ignore[method-assign]

        def device() -> tuple[list[float], list[float]]:
            reads, commits = [], []
            for i in range(n + WARMUP):
                code = new_card_code().encode()
                sent = scanner.write_blocking(code + b"\r")
                key, committed = done.get(timeout=10)
                assert key == code
                if i >= WARMUP:
                    reads.append(read_at[key] - sent)
                    commits.append(committed - sent)
                time.sleep(0.002)  # scans come one at a time, as from a hand
            return reads, commits

        return await loop.run_in_executor(None, device)
    finally:
        await runner.cleanup()
        scanner.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    logging.basicConfig(level=logging.ERROR)  # keep the table alone on the terminal
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        bare = bare_pyserial(base / "ttyBare", n)
        reads, commits = asyncio.run(agent_path(base / "data", base / "ttyAgent", n))
    print(f"Scan latency over a pty, {n} scans each (after {WARMUP} warm-up), milliseconds\n")
    print("| path | scans | p50 | p99 | max |")
    print("|---|---|---|---|---|")
    print(_row("bare pyserial read loop: last byte -> line read", bare))
    print(_row("agent: last byte -> line in the scan path", reads))
    print(_row("agent: last byte -> scan.stamped committed", commits))
    p99 = _pct(commits, 99) * 1000
    print(f"\ngoal p99 <= 20 ms: {'met' if p99 <= 20 else 'NOT met'} ({p99:.2f} ms)")


if __name__ == "__main__":
    main()
