"""Camera scan latency: from the video frame that shows a card's QR to the stamp committed, on
the kiosk page in headless Chromium (fake camera playing a Y4M of card QRs, the bundled jsQR
decoder), beside the hardware-scanner path (``bench.scan_latency``: last byte on a pty ->
``scan.stamped`` committed) in the same run. Run by hand from the repository root:

    python -m bench.camera_scan [scans]        # default 100

The video shows 10 different cards in turn, each for 0.4 s with 0.8 s of empty picture between
(10 fps), so a card counts once per showing. The kiosk page records, for each scan, when the
frame it decoded was presented, when the last frame read without a code was, and when the
answer of ``POST /v1/scans`` arrived (the answer comes after the durable commit). "decoded
frame" starts the clock at the frame the decoder read; "earliest frame" at the frame after the
last empty one, which is the latest the code can have appeared (the decoder skips frames that
arrive while it works). Prints a Markdown table in milliseconds.
"""

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from agent.http.app import build_app
from bench.scan_latency import WARMUP, agent_path
from config import load_agent_settings
from sync.contract.card_code import new_card_code
from tests.agent.conftest import SECRET
from tests.conftest import free_port
from tests.pages.camera import TABLET, camera_browser, write_y4m

FPS = 10
SHOWN, EMPTY = 4, 8  # frames with the card, frames without


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _row(name: str, ms: list[float]) -> str:
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {_pct(ms, 99):.1f} | {max(ms):.1f} |"
    )


async def camera_path(base: Path, n: int) -> tuple[list[float], list[float], str]:
    """``n`` kiosk scans through Chromium's fake camera: (from decoded frame, from earliest
    frame) in ms, and the decoder the page used."""
    port = free_port()
    settings = load_agent_settings(
        None,
        {
            "agent": {"data_dir": str(base / "data"), "kiosk_cooldown_s": 0},
            "cloud": {"device_secret": SECRET, "url": ""},
        },
    )
    app = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    frames: list[str | None] = []
    for _ in range(10):
        frames += [new_card_code()] * SHOWN + [None] * EMPTY
    video = write_y4m(base / "cards.y4m", frames, fps=FPS)
    try:
        import aiohttp

        async with aiohttp.ClientSession() as owner:
            page_html = await (
                await owner.post(url + "/pairing/code", data={"role": "kiosk"})
            ).text()
        code = page_html.split('id="pairing-code">')[1][:7].replace(" ", "")
        async with camera_browser(video) as browser:
            context = await browser.new_context(**TABLET)
            page: Any = await context.new_page()
            await page.goto(f"{url}/pair?code={code}")
            await page.get_by_role("button", name="Pair").click()
            await page.wait_for_url("**/kiosk")
            await page.goto(f"{url}/kiosk?reset=500&decoder=jsqr")
            want = n + WARMUP
            deadline = time.monotonic() + want * (SHOWN + EMPTY) / FPS * 3 + 60
            timings: list[dict[str, Any]] = []
            while len(timings) < want and time.monotonic() < deadline:
                await asyncio.sleep(1)
                timings = await page.evaluate("window.stampedgeTimings")
            decoder = await page.evaluate("document.body.dataset.decoder")
            await context.close()
    finally:
        await runner.cleanup()
    stamped = [t for t in timings if t["outcome"] == "stamped"][WARMUP:want]
    if len(stamped) < n:
        print(f"only {len(stamped)} of {n} scans were stamped in time", file=sys.stderr)
    decoded = [t["doneAt"] - t["frameAt"] for t in stamped]
    earliest = [
        t["doneAt"] - min(t["frameAt"], t["emptyAt"] + 1000 / FPS) if t["emptyAt"] else 0.0
        for t in stamped
    ]
    return decoded, [e for e in earliest if e > 0], decoder


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        decoded, earliest, decoder = asyncio.run(camera_path(base, n))
        _, commits = asyncio.run(agent_path(base / "hw", base / "ttyAgent", n))
    print(f"Frame or keystroke to stamp committed, {n} scans each, milliseconds\n")
    print("| path | scans | p50 | p99 | max |")
    print("|---|---|---|---|---|")
    print(_row(f"camera ({decoder}): decoded frame -> stamp answered", decoded))
    print(_row(f"camera ({decoder}): earliest frame with the code -> stamp answered", earliest))
    print(_row("hardware scanner: last byte on the pty -> scan.stamped committed",
               [c * 1000 for c in commits]))  # fmt: skip


if __name__ == "__main__":
    main()
