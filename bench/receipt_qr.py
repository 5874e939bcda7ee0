"""Receipt QR on the wire: bytes and build time of native ``GS ( k``, raster ``GS v 0`` and Star
raster for real claim URLs (72 characters, minted like the agent mints them), beside
python-escpos's own ``qr()`` default for the same URLs in the same run; the time each takes on a
9600 / 38400 / 115200 baud serial line; and POS call -> QR bytes on the printer's socket through
the real agent (aiohttp, SQLite outbox with synchronous=FULL) and the fake TCP printer.

Run by hand from the repository root:

    python -m bench.receipt_qr [orders]          # default 300 orders after 20 warm-up ones

Goals: native <= 41 + len(url) bytes; raster <= 1/3 of python-escpos's default; POS call to QR
bytes on the socket p99 <= 50 ms.
"""

import asyncio
import contextlib
import io
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from agent import claim_token
from agent.app import build_app
from config import load_agent_settings
from config.agent import PrinterSettings
from printers.escpos_qr import native_qr, raster_qr, star_qr
from printers.profile import capabilities
from printers.receipt import Receipt, build_job
from tests.fakes.escpos_printer import TcpFakePrinter

WARMUP = 20
BAUDS = (9600, 38400, 115200)
BASE = "http://127.0.0.1:8788/c/"
SECRET = "bench-device-secret-0123456789abcdef"


def claim_urls(n: int) -> list[str]:
    """``n`` claim URLs exactly as the agent prints them."""
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        token, _ = claim_token.mint(
            secret=SECRET, device_id=7, order_id=f"B-{i}", stamps=1, now=now, ttl_hours=720
        )
        out.append(claim_token.claim_url(BASE, token))
    return out


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def escpos_default(url: str) -> bytes:
    """What python-escpos sends for ``printer.qr(url)`` with every argument left default."""
    from escpos.printer import Dummy

    d = Dummy()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a note about the profile
        d.qr(url)
    return bytes(d.output)


def escpos_native(url: str) -> bytes:
    from escpos.printer import Dummy

    d = Dummy()
    d.qr(url, native=True, size=4)
    return bytes(d.output)


def measure(build: Callable[[str], bytes], urls: list[str]) -> tuple[float, float]:
    """(median bytes, median build seconds) over ``urls``."""
    sizes, times = [], []
    for url in urls:
        start = time.perf_counter()
        data = build(url)
        times.append(time.perf_counter() - start)
        sizes.append(len(data))
    return statistics.median(sizes), statistics.median(times)


def size_table(urls: list[str]) -> list[str]:
    """The bytes / build time / line time table."""
    receipt_settings = PrinterSettings(profile="TM-T20II")
    caps = capabilities(receipt_settings)

    def whole(url: str) -> bytes:
        r = Receipt(
            order_id="A-1017", claim_url=url, stamps=2, total="24.50", currency="EUR",
            till="till-1", issued_at=datetime.now(UTC),
        )  # fmt: skip
        return build_job(r, receipt_settings, caps)

    rows: list[tuple[str, Callable[[str], bytes]]] = [
        ("python-escpos qr() default (image, size 3, EC L)", escpos_default),
        ("python-escpos qr(native=True, size=4)", escpos_native),
        ("native GS ( k, module 4, EC M", lambda u: native_qr(u, module_size=4, ec="M")),
        ("raster GS v 0, module 4 dots, EC M, quiet 4", lambda u: raster_qr(u, module_dots=4, ec="M")),  # noqa: E501
        ("raster GS v 0, module 2 dots, EC M, quiet 4", lambda u: raster_qr(u, module_dots=2, ec="M")),  # noqa: E501
        ("Star raster, module 4 dots, EC M, quiet 4", lambda u: star_qr(u, module_dots=4, ec="M")),
        ("whole receipt job, native QR", whole),
    ]  # fmt: skip
    base_bytes, _ = measure(escpos_default, urls[:20])
    out = [
        "| QR as | bytes | vs python-escpos default | build ms (p50) | "
        + " | ".join(f"{b} baud s" for b in BAUDS)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(BAUDS),
    ]
    for name, build in rows:
        n, t = measure(build, urls)
        line = " | ".join(f"{n * 10 / b:.2f}" for b in BAUDS)
        out.append(f"| {name} | {n:.0f} | {n / base_bytes:.2f}x | {t * 1000:.3f} | {line} |")
    return out


async def pos_to_socket(n: int, qr: str) -> list[float]:
    """Seconds from ``POST /v1/orders`` sent to the QR command whole on the printer's socket."""
    printer = await TcpFakePrinter().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_agent_settings(
            None,
            {
                "agent": {"data_dir": str(Path(tmp) / "agent")},
                "cloud": {"device_secret": SECRET, "device_key": "sk_7_bench", "url": ""},
                "printer": {
                    "kind": "network",
                    "address": printer.address,
                    "profile": "TM-T20II",
                    "qr": qr,
                    "status_poll_s": 0,
                },
            },
        )
        client: TestClient[Any, Any] = TestClient(TestServer(build_app(settings)))
        await client.start_server()
        latencies: list[float] = []
        try:
            for i in range(n + WARMUP):
                start = time.perf_counter()
                resp = await client.post("/v1/orders", json={"order_id": f"O-{i}", "total": "12"})
                assert resp.status == 201, await resp.text()
                [*_, last] = await printer.wait_receipts(i + 1)
                assert last.qr_at is not None
                if i >= WARMUP:
                    latencies.append(last.qr_at - start)
        finally:
            await client.close()
            await printer.stop()
    return latencies


async def main(n: int) -> None:
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    urls = claim_urls(200)
    lengths = sorted({len(u) for u in urls})
    print(f"claim URLs: {len(urls)}, length {lengths} chars, e.g. {urls[0]}\n")
    print("\n".join(size_table(urls)))
    print(f"\ngoal native <= 41 + len(url) = {41 + lengths[-1]} bytes\n")
    print("| POS call -> QR bytes on the printer socket | orders | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for qr in ("native", "image"):
        lat = [x * 1000 for x in await pos_to_socket(n, qr)]
        print(
            f"| {qr} | {len(lat)} | {statistics.median(lat):.2f} | {_pct(lat, 99):.2f} "
            f"| {max(lat):.2f} |"
        )
    print("\ngoal p99 <= 50 ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
