"""Chromium with a fake camera that shows QR codes, and axe-core, for the kiosk and staff pages.

The camera is a Y4M file (a text header, then raw I420 frames) made here from QR images;
Chromium plays it in a loop as the only camera (``--use-file-for-fake-video-capture``).
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REQUIRE_PG

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDTH, HEIGHT = 640, 480
TABLET = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
NARROW = {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 2, "is_mobile": True}


def qr_frame(text: str | None) -> bytes:
    """One I420 frame: the QR of ``text`` in the middle of a light grey picture (None: no code)."""
    img = Image.new("L", (WIDTH, HEIGHT), 235)
    if text is not None:
        qr = qrcode.QRCode(border=4, box_size=1)
        qr.add_data(text)
        code = qr.make_image().get_image().convert("L")
        side = HEIGHT * 3 // 4
        code = code.resize((side, side), Image.Resampling.NEAREST)
        img.paste(code, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    return img.tobytes() + chroma + chroma


def write_y4m(path: Path, frames: Sequence[str | None], fps: int = 10) -> Path:
    """A Y4M video whose frames show ``frames`` (a code, or None for an empty picture)."""
    cache: dict[str | None, bytes] = {}
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for text in frames:
            if text not in cache:
                cache[text] = qr_frame(text)
            out.write(b"FRAME\n" + cache[text])
    return path


@asynccontextmanager
async def camera_browser(video: Path, *extra: str) -> AsyncIterator[Any]:
    """Headless Chromium whose camera plays ``video`` (permission granted)."""
    if not Path(CHROMIUM).exists():
        if REQUIRE_PG:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.async_api import async_playwright

    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        *extra,
    ]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


async def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
