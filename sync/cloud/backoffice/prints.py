"""A batch of codes as print-ready files (pure: bytes in, bytes out, no clock, no I/O).

- PDF (reportlab): ``labels`` are A4 sheets of 3 x 8 labels (70 x 37 mm), ``flyers`` are A6
  pages, one code each; every code has its QR (the claim URL) and the short code to type.
- CSV: one row per code, for a mail merge or a print shop.
- ESC/POS: one ticket per code for a receipt printer: native ``GS ( k`` QR (model 2), the code
  in large type, a cut. Built here because the cloud may not import ``printers/`` (the
  import-linter contract); the few commands are the standard ones.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from sync.cloud.backoffice.codes import display

Layout = Literal["labels", "flyers"]
COLUMNS, ROWS = 3, 8
LABEL_W, LABEL_H = 70 * mm, 37 * mm


@dataclass(frozen=True)
class PrintCode:
    """One code to print: its code, the URL its QR opens, and the line above it."""

    code: str
    url: str
    title: str
    detail: str  # e.g. "3 stamps · valid until 2027-01-06"


def _qr(c: Canvas, url: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    d.add(widget)
    renderPDF.draw(d, c, x, y)


def _fit(c: Canvas, text: str, font: str, size: float, width: float) -> float:
    while size > 5 and c.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def pdf(codes: Sequence[PrintCode], layout: Layout = "labels", shop: str = "") -> bytes:
    """The codes as a PDF of A4 label sheets or A6 flyers."""
    out = io.BytesIO()
    size = A4 if layout == "labels" else A6
    c = Canvas(out, pagesize=size, pageCompression=1)
    c.setTitle(f"{shop} codes".strip())
    if layout == "labels":
        page_w, page_h = A4
        left = (page_w - COLUMNS * LABEL_W) / 2
        top = page_h - (page_h - ROWS * LABEL_H) / 2
        for i, item in enumerate(codes):
            slot = i % (COLUMNS * ROWS)
            if i and slot == 0:
                c.showPage()
            col, row = slot % COLUMNS, slot // COLUMNS
            x, y = left + col * LABEL_W, top - (row + 1) * LABEL_H
            qr = LABEL_H - 6 * mm
            _qr(c, item.url, x + 2 * mm, y + 3 * mm, qr)
            tx, tw = x + qr + 4 * mm, LABEL_W - qr - 6 * mm
            c.setFont("Helvetica-Bold", _fit(c, item.title, "Helvetica-Bold", 9, tw))
            c.drawString(tx, y + LABEL_H - 9 * mm, item.title)
            c.setFont("Helvetica", _fit(c, item.detail, "Helvetica", 7, tw))
            c.drawString(tx, y + LABEL_H - 14 * mm, item.detail)
            c.setFont("Courier-Bold", _fit(c, display(item.code), "Courier-Bold", 11, tw))
            c.drawString(tx, y + 6 * mm, display(item.code))
    else:
        page_w, page_h = A6
        for i, item in enumerate(codes):
            if i:
                c.showPage()
            if shop:
                c.setFont("Helvetica", 11)
                c.drawCentredString(page_w / 2, page_h - 14 * mm, shop)
            c.setFont("Helvetica-Bold", _fit(c, item.title, "Helvetica-Bold", 16, page_w - 16 * mm))
            c.drawCentredString(page_w / 2, page_h - 24 * mm, item.title)
            c.setFont("Helvetica", 9)
            c.drawCentredString(page_w / 2, page_h - 31 * mm, item.detail)
            qr = 62 * mm
            _qr(c, item.url, (page_w - qr) / 2, page_h - 36 * mm - qr, qr)
            c.setFont("Helvetica", 8)
            typed = item.url.rsplit("/", 1)[0]
            c.drawCentredString(page_w / 2, 26 * mm, "Scan with your phone camera,")
            c.drawCentredString(page_w / 2, 22 * mm, f"or type the code at {typed}")
            c.setFont("Courier-Bold", 18)
            c.drawCentredString(page_w / 2, 12 * mm, display(item.code))
    c.showPage()
    c.save()
    return out.getvalue()


def csv_text(codes: Sequence[PrintCode], extra: Sequence[dict[str, str]]) -> str:
    """The codes as CSV (``code``, ``display``, ``url``, ``title``, ``detail`` and the columns
    of ``extra``, one dict per code)."""
    out = io.StringIO()
    names = ["code", "display", "url", "title", "detail", *(extra[0] if extra else {})]
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\r\n")
    writer.writeheader()
    for item, more in zip(codes, extra or [{}] * len(codes), strict=True):
        writer.writerow({"code": item.code, "display": display(item.code), "url": item.url,
                         "title": item.title, "detail": item.detail, **more})  # fmt: skip
    return out.getvalue()


ESC, GS = b"\x1b", b"\x1d"


def _qr_escpos(data: bytes) -> bytes:
    """Native QR (``GS ( k``, model 2, module 6, level M) storing and printing ``data``."""
    store = len(data) + 3
    return (
        GS + b"(k\x04\x001A2\x00"  # model 2
        + GS + b"(k\x03\x001C\x06"  # module size 6
        + GS + b"(k\x03\x001E1"  # error correction M
        + GS + b"(k" + bytes([store % 256, store // 256]) + b"1P0" + data
        + GS + b"(k\x03\x001Q0"  # print
    )  # fmt: skip


def _ascii(text: str) -> bytes:
    return text.encode("ascii", "replace")


def escpos(codes: Sequence[PrintCode], shop: str = "") -> bytes:
    """One receipt-printer ticket per code: shop, title, QR, code, cut."""
    job = bytearray(ESC + b"@")
    for item in codes:
        job += ESC + b"a\x01"  # centre
        if shop:
            job += _ascii(shop) + b"\n"
        job += ESC + b"E\x01" + _ascii(item.title) + b"\n" + ESC + b"E\x00"
        job += _ascii(item.detail) + b"\n\n"
        job += _qr_escpos(item.url.encode("ascii"))
        job += b"\n" + GS + b"!\x11" + _ascii(display(item.code)) + b"\n" + GS + b"!\x00"
        job += b"\n\n\n" + GS + b"V\x42\x00"  # feed and partial cut
    return bytes(job)
