"""Receipt QR on the wire: bytes and build time of native ``GS ( k``, raster ``GS v 0`` and Star
raster for real claim URLs (72 characters, minted like the agent mints them), beside
python-escpos's own ``qr()`` default for the same URLs in the same run; the time each takes on a
9600 / 38400 / 115200 baud serial line; and POS call -> QR bytes on the printer's socket through
the real agent (aiohttp, SQLite outbox with synchronous=FULL) and the fake TCP printer.

Run by hand from the repository root:

    python -m bench.receipt_qr [orders]          # default 300 orders after 20 warm-up ones

Goals: native <= 41 + len(url) bytes; raster <= 1/3 of python-escpos's default; POS call to QR
bytes on the socket p99 <= 50 ms. Raster rows count every byte of the QR block as the agent
sends it (centring, the quiet-zone line feeds, the image); the quiet zone itself is paper.
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

from agent.http.app import build_app
from config import load_agent_settings
from config.agent import PrinterSettings
from printers.escpos_qr import (
    QUIET_MODULES,
    EcLevel,
    native_qr,
    qr_matrix,
    raster_qr,
    raster_qr_block,
    star_qr,
)
from printers.profile import Capabilities, capabilities
from printers.receipt import Receipt, build_job
from sync.contract import claim_token
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


def _version(url: str, ec: EcLevel) -> int:
    return (len(qr_matrix(url, ec)) - 17) // 4


def size_table(urls: list[str]) -> tuple[list[str], float, list[str]]:
    """The bytes / build time / line time table, python-escpos's default bytes, rows meeting 1/3."""
    receipt_settings = PrinterSettings(profile="TM-T20II")
    caps = capabilities(receipt_settings)
    raster_settings = PrinterSettings(profile="POS-5890")
    raster_caps = capabilities(raster_settings)

    def whole(settings: PrinterSettings, caps: Capabilities) -> Callable[[str], bytes]:
        def build(url: str) -> bytes:
            r = Receipt(
                order_id="A-1017", claim_url=url, stamps=2, total="24.50", currency="EUR",
                till="till-1", issued_at=datetime.now(UTC),
            )  # fmt: skip
            return build_job(r, settings, caps)

        return build

    def block(dots: int, ec: EcLevel) -> tuple[str, Callable[[str], bytes]]:
        name = f"raster GS v 0, module {dots} dots, EC {ec} (v{_version(urls[0], ec)}), quiet zone on paper"  # noqa: E501
        return name, lambda u: raster_qr_block(u, module_dots=dots, ec=ec)

    v_l = _version(urls[0], "L")
    rows: list[tuple[str, Callable[[str], bytes]]] = [
        (f"python-escpos qr() default (image, size 3, EC L (v{v_l}), border 1)", escpos_default),
        ("python-escpos qr(native=True, size=4)", escpos_native),
        ("native GS ( k, module 4, EC M", lambda u: native_qr(u, module_size=4, ec="M")),
        block(4, "M"),
        block(4, "L"),
        block(3, "M"),
        block(2, "M"),
        block(2, "L"),
        (f"raster GS v 0, module 4 dots, EC M (v{_version(urls[0], 'M')}), quiet 4 in the image (before)",  # noqa: E501
         lambda u: raster_qr(u, module_dots=4, ec="M", quiet=QUIET_MODULES)),
        ("Star raster, module 4 dots, EC M, quiet 4", lambda u: star_qr(u, module_dots=4, ec="M")),
        ("whole receipt job, native QR (TM-T20II)", whole(receipt_settings, caps)),
        ("whole receipt job, raster QR (POS-5890, module 4, EC M)", whole(raster_settings, raster_caps)),  # noqa: E501
    ]  # fmt: skip
    base_bytes, _ = measure(escpos_default, urls[:20])
    out = [
        "| QR as | bytes | vs python-escpos default | build ms (p50) | "
        + " | ".join(f"{b} baud s" for b in BAUDS)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(BAUDS),
    ]
    meeting = []
    for name, build in rows:
        n, t = measure(build, urls)
        line = " | ".join(f"{n * 10 / b:.2f}" for b in BAUDS)
        out.append(f"| {name} | {n:.0f} | {n / base_bytes:.2f}x | {t * 1000:.3f} | {line} |")
        if name.startswith("raster") and n * 3 <= base_bytes:
            meeting.append(name)
    return out, base_bytes, meeting


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
    table, base_bytes, meeting = size_table(urls)
    print("\n".join(table))
    print(f"\ngoal native <= 41 + len(url) = {41 + lengths[-1]} bytes")
    print(f"goal raster <= 1/3 of python-escpos's default = {base_bytes / 3:.0f} bytes; met by:")
    print("\n".join(f"  {name}" for name in meeting) or "  (none)")
    print()
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
