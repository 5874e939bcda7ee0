"""The pictures of a pass, drawn with Pillow: the strip with the card's stamps, the icon and the
logo, each at 1x, 2x and 3x. Pure (bytes out); the same inputs give the same PNG bytes, so they
are cached."""

import io
import re
from functools import lru_cache

from PIL import Image, ImageDraw

STRIP_PT = (375, 144)  # a storeCard's strip image, in points
ICON_PT = (29, 29)
LOGO_PT = (160, 50)
SCALES = (1, 2, 3)
MAX_DRAWN = 20  # beyond this goal the strip shows a bar instead of one circle per stamp

RGB = tuple[int, int, int]


def parse_rgb(text: str) -> RGB:
    """``rgb(r, g, b)`` (as ``pass.json`` writes colours) as a tuple."""
    found = re.fullmatch(r"rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)", text.strip())
    if found is None:
        raise ValueError(f"not an rgb(r, g, b) colour: {text!r}")
    r, g, b = (min(255, int(x)) for x in found.groups())
    return (r, g, b)


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _suffix(scale: int) -> str:
    return "" if scale == 1 else f"@{scale}x"


@lru_cache(maxsize=4096)
def strip_png(balance: int, goal: int, background: RGB, foreground: RGB, scale: int) -> bytes:
    """The strip: ``goal`` circles in up to two rows, ``balance`` of them filled."""
    w, h = STRIP_PT[0] * scale, STRIP_PT[1] * scale
    img = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(img)
    filled = min(balance, goal)
    line = max(1, 2 * scale)
    if goal > MAX_DRAWN:
        pad, bar_h = 24 * scale, 28 * scale
        top = (h - bar_h) // 2
        draw.rounded_rectangle(
            (pad, top, w - pad, top + bar_h), radius=bar_h // 2, outline=foreground, width=line
        )
        inner = int((w - 2 * pad) * filled / goal)
        if inner > 0:
            draw.rounded_rectangle(
                (pad, top, pad + inner, top + bar_h), radius=bar_h // 2, fill=foreground
            )
        return _png(img)
    rows = 1 if goal <= 10 else 2
    per_row = -(-goal // rows)
    cell = min((w - 16 * scale) // per_row, (h - 16 * scale) // rows)
    radius = int(cell * 0.38)
    x0 = (w - per_row * cell) // 2
    y0 = (h - rows * cell) // 2
    for i in range(goal):
        row, col = divmod(i, per_row)
        cx = x0 + col * cell + cell // 2
        cy = y0 + row * cell + cell // 2
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        if i < filled:
            draw.ellipse(box, fill=foreground)
        else:
            draw.ellipse(box, outline=foreground, width=line)
    return _png(img)


@lru_cache(maxsize=64)
def icon_png(background: RGB, foreground: RGB, scale: int) -> bytes:
    """The icon (notifications, lock screen): one filled stamp on the card's colour."""
    w, h = ICON_PT[0] * scale, ICON_PT[1] * scale
    img = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(img)
    m = 5 * scale
    draw.ellipse((m, m, w - m, h - m), fill=foreground)
    return _png(img)


@lru_cache(maxsize=64)
def logo_png(background: RGB, foreground: RGB, scale: int) -> bytes:
    """The logo at the top left (the business's name follows it as ``logoText``): three
    stamps, transparent around them."""
    w, h = LOGO_PT[0] * scale, LOGO_PT[1] * scale
    img = Image.new("RGBA", (w, h), (*background, 0))
    draw = ImageDraw.Draw(img)
    d = h - 12 * scale
    for i in range(3):
        x = 4 * scale + i * (d + 4 * scale)
        box = (x, 6 * scale, x + d, 6 * scale + d)
        if i < 2:
            draw.ellipse(box, fill=foreground)
        else:
            draw.ellipse(box, outline=foreground, width=2 * scale)
    return _png(img)


def pass_images(balance: int, goal: int, background: str, foreground: str) -> dict[str, bytes]:
    """Every picture of a pass by its file name in the ``.pkpass``."""
    bg, fg = parse_rgb(background), parse_rgb(foreground)
    files: dict[str, bytes] = {}
    for s in SCALES:
        files[f"icon{_suffix(s)}.png"] = icon_png(bg, fg, s)
        files[f"logo{_suffix(s)}.png"] = logo_png(bg, fg, s)
        files[f"strip{_suffix(s)}.png"] = strip_png(balance, goal, bg, fg, s)
    return files
