"""The receipt QR as printer bytes (pure): native ``GS ( k``, raster ``GS v 0`` and Star raster.

Nothing here touches a device: each function takes the URL and sizes and returns bytes, so the
byte counts in ``bench/receipt_qr.py`` and the decoding tests see exactly what goes on the wire.
"""

from collections.abc import Sequence
from typing import Literal

QrMode = Literal["native", "image", "star"]
EcLevel = Literal["L", "M", "Q", "H"]

GS = b"\x1d"
ESC = b"\x1b"
QUIET_MODULES = 4  # ISO/IEC 18004 asks for a 4-module white border around the symbol.

_EC_NATIVE = {"L": 48, "M": 49, "Q": 50, "H": 51}
# qrcode.constants.ERROR_CORRECT_*; the numbers, so importing this module does not load qrcode
# (which loads PIL: ~4 MB an agent without a printer should not carry).
_EC_LIB = {"L": 1, "M": 0, "Q": 3, "H": 2}


def _le16(n: int) -> bytes:
    return bytes((n & 0xFF, (n >> 8) & 0xFF))


def _gs_k(fn: int, body: bytes) -> bytes:
    """One ``GS ( k`` function for the QR symbol (cn = 49)."""
    return GS + b"(k" + _le16(len(body) + 2) + bytes((49, fn)) + body


_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
# Version 40 capacity (ISO/IEC 18004 table 7): alphanumeric and byte mode, by EC level.
_CAPACITY = {"L": (4296, 2953), "M": (3391, 2331), "Q": (2420, 1663), "H": (1852, 1273)}


def qr_capacity(data: str, ec: EcLevel) -> int:
    """The most characters of ``data``'s kind a QR symbol holds at level ``ec``."""
    alnum, byte = _CAPACITY[ec]
    return alnum if set(data) <= _ALNUM else byte


def native_qr(data: str, *, module_size: int, ec: EcLevel) -> bytes:
    """``GS ( k``: model 2, module size, error correction, store, print: 41 bytes + the data."""
    payload = data.encode("utf-8")
    if not 1 <= module_size <= 16:
        raise ValueError("module_size must be 1..16 dots")
    if len(payload) > qr_capacity(data, ec):
        raise ValueError(f"{len(payload)} characters do not fit a QR code at level {ec}")
    return (
        _gs_k(65, bytes((50, 0)))  # model 2
        + _gs_k(67, bytes((module_size,)))
        + _gs_k(69, bytes((_EC_NATIVE[ec],)))
        + _gs_k(80, b"0" + payload)  # store in the symbol save area
        + _gs_k(81, b"0")  # print the stored symbol
    )


def qr_matrix(data: str, ec: EcLevel) -> list[list[bool]]:
    """The QR symbol's modules (True = dark), without quiet zone; the smallest version that fits."""
    import qrcode
    from qrcode.exceptions import DataOverflowError

    code = qrcode.QRCode(version=None, error_correction=_EC_LIB[ec], border=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except DataOverflowError as err:
        raise ValueError(f"too much data for a QR code at error correction {ec}") from err
    matrix: list[list[bool]] = [list(row) for row in code.get_matrix()]
    return matrix


def bitmap_rows(matrix: Sequence[Sequence[bool]], scale: int, quiet: int) -> list[bytes]:
    """Pack modules into 1-bit rows (MSB first, 1 = black) with ``quiet`` white modules round."""
    size = len(matrix) + 2 * quiet
    width_px = size * scale
    width_bytes = (width_px + 7) // 8
    blank = bytes(width_bytes)
    rows: list[bytes] = []
    for y in range(size):
        my = y - quiet
        if not 0 <= my < len(matrix):
            rows.extend([blank] * scale)
            continue
        bits = 0
        for x in range(size):
            mx = x - quiet
            dark = 0 <= mx < len(matrix) and matrix[my][mx]
            for _ in range(scale):
                bits = (bits << 1) | int(dark)
        bits <<= width_bytes * 8 - width_px
        row = bits.to_bytes(width_bytes, "big")
        rows.extend([row] * scale)
    return rows


def raster_mode_for(module_dots: int) -> tuple[int, int]:
    """``GS v 0`` density mode and pixels per module for a module of ``module_dots`` printed dots.

    An even module size uses mode 3 (each pixel printed 2x2 dots): a quarter of the bytes for the
    same printed size, which is what makes raster affordable on a 9600-baud line.
    """
    if module_dots >= 2 and module_dots % 2 == 0:
        return 3, module_dots // 2
    return 0, module_dots


def raster_image(rows: Sequence[bytes], mode: int = 0) -> bytes:
    """``GS v 0`` raster bit image of equal-length rows."""
    width_bytes = len(rows[0]) if rows else 0
    return GS + b"v0" + bytes((mode,)) + _le16(width_bytes) + _le16(len(rows)) + b"".join(rows)


def raster_qr(data: str, *, module_dots: int, ec: EcLevel, quiet: int = 0) -> bytes:
    """The QR as a ``GS v 0`` raster image: the symbol only, unless ``quiet`` modules are asked for.

    The quiet zone is white, and white needs no bytes: :func:`raster_qr_block` makes it with
    paper instead (centring and line feeds), which is what a printer should be sent.
    """
    mode, scale = raster_mode_for(module_dots)
    return raster_image(bitmap_rows(qr_matrix(data, ec), scale, quiet), mode)


ALIGN_CENTER = ESC + b"a\x01"
# A line feed moves the paper by the line spacing, which ESC @ sets to the printer's default:
# 1/6 inch on Epson's 180-dpi models (30 dots), 3.75 mm on 203-dpi ones (30 dots), never less
# on the ESC/POS printers we know. Lines, not ESC J dots: ESC J counts motion units, which are
# 1/360 inch on a TM-T88 and 1/203 inch on a TM-T20, so the same n would give half the white.
MIN_LINE_DOTS = 30


def quiet_feed(module_dots: int, quiet: int = QUIET_MODULES) -> bytes:
    """``ESC d n``: enough blank lines of paper for ``quiet`` modules of white."""
    lines = max(1, -(-quiet * module_dots // MIN_LINE_DOTS))
    return ESC + b"d" + bytes((lines,))


def raster_qr_block(
    data: str, *, module_dots: int, ec: EcLevel, quiet: int = QUIET_MODULES
) -> bytes:
    """The raster QR with its quiet zone made of paper: centred, blank lines above and below.

    Centred (``ESC a 1``) on paper at least 384 dots wide, a symbol of up to 41 modules at
    4 dots leaves 110 or more white dots either side (and a printer that ignores ``ESC a`` for
    images prints it at the left edge of the print area, which still has the paper's own white
    margin beyond it). Above and below, ``ESC d`` feeds whole lines, at least ``quiet`` modules.
    """
    feed = quiet_feed(module_dots, quiet)
    return ALIGN_CENTER + feed + raster_qr(data, module_dots=module_dots, ec=ec) + feed


STAR_START = ESC + b"*rR" + ESC + b"*rA" + ESC + b"*rP0\x00"  # init, enter raster, continuous
STAR_END = ESC + b"\x0c\x00" + ESC + b"*rB"  # form feed (runs the feed-and-cut), quit raster


def star_rows(rows: Sequence[bytes], *, left_bytes: int = 0) -> bytes:
    """Star Graphic raster lines (``b n1 n2 data``); white runs become ``ESC * r Y n NUL`` feeds.

    Trailing white bytes are dropped from each line (the printer fills the line with white),
    and ``left_bytes`` white bytes centre the image on the paper.
    """
    out = bytearray()
    pad = bytes(left_bytes)
    blank_run = 0
    for row in rows:
        trimmed = row.rstrip(b"\x00")
        if not trimmed:
            blank_run += 1
            continue
        if blank_run:
            out += star_feed(blank_run)
            blank_run = 0
        line = pad + trimmed
        out += b"b" + _le16(len(line)) + line
    if blank_run:
        out += star_feed(blank_run)
    return bytes(out)


def star_feed(dots: int) -> bytes:
    """``ESC * r Y n NUL``: move the paper ``dots`` raster lines without printing."""
    return ESC + b"*rY" + str(dots).encode("ascii") + b"\x00"


def star_qr(
    data: str,
    *,
    module_dots: int,
    ec: EcLevel,
    paper_dots: int = 576,
    quiet: int = QUIET_MODULES,
) -> bytes:
    """The QR as Star raster lines (TSP100-class printers print nothing but raster), centred."""
    rows = bitmap_rows(qr_matrix(data, ec), module_dots, quiet)
    width = len(rows[0]) if rows else 0
    left = max(0, (paper_dots // 8 - width) // 2)
    return star_rows(rows, left_bytes=left)
