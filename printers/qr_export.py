"""The receipt QR for POS software that prints its own receipts: PNG, SVG and ESC/POS (pure)."""

import io
from dataclasses import replace
from typing import Literal

from config.agent import PrinterSettings
from printers.escpos_qr import ALIGN_CENTER, QUIET_MODULES, EcLevel, bitmap_rows, qr_matrix
from printers.profile import Capabilities
from printers.receipt import ALIGN_LEFT, qr_footer

MAX_SCALE = 40


def qr_png(url: str, *, ec: EcLevel, scale: int = 8) -> bytes:
    """A black-on-white PNG of the QR, ``scale`` pixels a module, 4-module quiet zone."""
    from PIL import Image  # loaded when a PNG is asked for, not with the agent

    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be 1..{MAX_SCALE}")
    rows = bitmap_rows(qr_matrix(url, ec), scale, QUIET_MODULES)
    side = len(rows)
    # Image "1" stores 1 = white; the rows carry 1 = black, so invert byte by byte.
    img = Image.frombytes("1", (len(rows[0]) * 8, side), bytes(b ^ 0xFF for r in rows for b in r))
    buf = io.BytesIO()
    img.crop((0, 0, side, side)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def qr_svg(url: str, *, ec: EcLevel, module_px: int = 8) -> str:
    """An SVG of the QR: one path of unit squares in module space, scaled by ``viewBox``."""
    matrix = qr_matrix(url, ec)
    size = len(matrix) + 2 * QUIET_MODULES
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            parts.append(
                f"M{start + QUIET_MODULES} {y + QUIET_MODULES}h{x - start}v1h-{x - start}z"
            )
    px = size * module_px
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges" role="img">'
        f"<title>{_xml(url)}</title>"
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def qr_escpos(
    url: str,
    settings: PrinterSettings,
    caps: Capabilities,
    mode: Literal["native", "image", "star"] | None = None,
) -> bytes:
    """The QR footer (text, QR, short code) as printer bytes, to splice into a POS's own job.

    No ``ESC @`` and no cut: the POS owns the job; alignment is set back to left at the end.
    """
    use = caps if mode is None else replace(caps, qr_mode=mode)
    return ALIGN_CENTER + qr_footer(url, settings, use) + ALIGN_LEFT
