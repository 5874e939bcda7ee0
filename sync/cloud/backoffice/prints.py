"""A batch of codes as print-ready files (bytes in, bytes out, no clock).

- PDF (reportlab): ``labels`` are A4 sheets of 3 x 8 labels (70 x 37 mm), ``flyers`` are A6
  pages, one code each; every code has its QR (the claim URL) and the short code to type.
  Every text is in the bundled DejaVu Sans (``sync.web.fonts``: Polish and Cyrillic letters),
  embedded as a subset, and the fixed words come from the catalogues in the page's language.
  The fonts are read once, by the first PDF: build PDFs in a worker thread.
- CSV: one row per code, for a mail merge or a print shop.
- ESC/POS: one ticket per code for a receipt printer: native ``GS ( k`` QR (model 2), the code
  in large type, a cut, its words in the language's code page (``sync.web.code_pages``, among
  the pages Epson-compatible printers share; a letter the page lacks is replaced sensibly).
  Built here because the cloud may not import ``printers/`` (the import-linter contract); the
  few commands are the standard ones.
"""

import csv
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from sync.cloud.backoffice.codes import display
from sync.contract.languages import DEFAULT_LANGUAGE
from sync.web import code_pages, fonts
from sync.web.texts import t

Layout = Literal["labels", "flyers"]
COLUMNS, ROWS = 3, 8
LABEL_W, LABEL_H = 70 * mm, 37 * mm
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"  # reportlab's names for the bundled files
_FONTS_LOCK = threading.Lock()  # two first PDFs at once register the fonts once


def register_fonts() -> None:
    """Register the bundled fonts with reportlab, once (reads the files: not on the loop)."""
    with _FONTS_LOCK:
        if FONT_BOLD in pdfmetrics.getRegisteredFontNames():
            return
        pdfmetrics.registerFont(TTFont(FONT, str(fonts.REGULAR)))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(fonts.BOLD)))


@dataclass(frozen=True)
class PrintCode:
    """One code to print: its code, the URL its QR opens, and the line above it."""

    code: str
    url: str
    title: str
    detail: str  # e.g. "3 pieczątki · ważne do 6 sty 2027", in the PDF's language


def _qr(c: Canvas, url: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    d.initialFontName = FONT  # renderPDF would set Helvetica (unembedded) for the QR's drawing
    d.add(widget)
    renderPDF.draw(d, c, x, y)


def _fit(c: Canvas, text: str, font: str, size: float, width: float) -> float:
    while size > 5 and c.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _line(c: Canvas, text: str, font: str, size: float, x: float, y: float, width: float) -> None:
    """``text`` from ``x`` (left), shrunk to fit ``width``."""
    c.setFont(font, _fit(c, text, font, size, width))
    c.drawString(x, y, text)


def _centred(c: Canvas, text: str, font: str, size: float, y: float, page_w: float) -> None:
    """``text`` centred on the page, shrunk to fit its width less 8 mm each side."""
    c.setFont(font, _fit(c, text, font, size, page_w - 16 * mm))
    c.drawCentredString(page_w / 2, y, text)


def pdf(
    codes: Sequence[PrintCode],
    layout: Layout = "labels",
    shop: str = "",
    lang: str = DEFAULT_LANGUAGE,
) -> bytes:
    """The codes as a PDF of A4 label sheets or A6 flyers, its words in ``lang`` (blocking:
    the first call reads the fonts; call from a worker thread)."""
    register_fonts()
    out = io.BytesIO()
    size = A4 if layout == "labels" else A6
    # /Lang for screen readers; the initial font too is ours (no Helvetica left unembedded)
    c = Canvas(out, pagesize=size, pageCompression=1, lang=lang, initialFontName=FONT)
    c.setTitle(" · ".join(x for x in (shop.strip(), t("print.codes", lang)) if x))
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
            _line(c, item.title, FONT_BOLD, 9, tx, y + LABEL_H - 9 * mm, tw)
            _line(c, item.detail, FONT, 7, tx, y + LABEL_H - 14 * mm, tw)
            _line(c, display(item.code), FONT_BOLD, 11, tx, y + 6 * mm, tw)
    else:
        page_w, page_h = A6
        for i, item in enumerate(codes):
            if i:
                c.showPage()
            if shop:
                _centred(c, shop, FONT, 11, page_h - 14 * mm, page_w)
            _centred(c, item.title, FONT_BOLD, 16, page_h - 24 * mm, page_w)
            _centred(c, item.detail, FONT, 9, page_h - 31 * mm, page_w)
            qr = 62 * mm
            _qr(c, item.url, (page_w - qr) / 2, page_h - 36 * mm - qr, qr)
            site = item.url.rsplit("/", 1)[0]
            _centred(c, t("print.scan", lang), FONT, 8, 26 * mm, page_w)
            _centred(c, t("print.type_at", lang, site=site), FONT, 8, 22 * mm, page_w)
            _centred(c, display(item.code), FONT_BOLD, 18, 12 * mm, page_w)
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


def escpos(codes: Sequence[PrintCode], shop: str = "", language: str = DEFAULT_LANGUAGE) -> bytes:
    """One receipt-printer ticket per code: shop, title, QR, code, cut; the words in the code
    page that prints ``language`` (and the titles' own letters) best."""
    words = shop + "".join(item.title + item.detail for item in codes)
    page = code_pages.page_for(language, code_pages.COMMON_PAGES, "CP437", words)

    def text(value: str) -> bytes:
        return code_pages.encode(value, page.codec)[0]

    job = bytearray(ESC + b"@" + ESC + b"t" + bytes([page.number]))
    for item in codes:
        job += ESC + b"a\x01"  # centre
        if shop:
            job += text(shop) + b"\n"
        job += ESC + b"E\x01" + text(item.title) + b"\n" + ESC + b"E\x00"
        job += text(item.detail) + b"\n\n"
        job += _qr_escpos(item.url.encode("ascii"))
        job += b"\n" + GS + b"!\x11" + text(display(item.code)) + b"\n" + GS + b"!\x00"
        job += b"\n\n\n" + GS + b"V\x42\x00"  # feed and partial cut
    return bytes(job)
