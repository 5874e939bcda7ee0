"""What goes on paper for one order, as bytes (pure): text, the QR footer, the cut.

ESC/POS printers get text plus the QR in the profile's mode; Star raster printers (and the file
printer's PNG preview) get the same layout drawn as a 1-bit image, in the bundled DejaVu Sans
(``sync.web.fonts``: Polish and Cyrillic letters, which Pillow's default font lacks).
"""

import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:  # PIL is loaded when a receipt is drawn, not with the agent (~4 MB)
    from PIL import Image, ImageFont

from config.agent import PrinterSettings
from printers.escpos_qr import (
    ALIGN_CENTER,
    ESC,
    GS,
    QUIET_MODULES,
    STAR_END,
    STAR_START,
    bitmap_rows,
    native_qr,
    qr_matrix,
    raster_qr_block,
    star_rows,
)
from printers.profile import Capabilities
from sync.contract.languages import DEFAULT_LANGUAGE, Language
from sync.web import fonts
from sync.web.code_pages import CodePage, encode
from sync.web.locale_format import day, moment, money
from sync.web.texts import plural, t

INIT = ESC + b"@"
ALIGN_LEFT = ESC + b"a\x00"
CUT = GS + b"VB\x03"  # feed to the cutter (+3 lines' worth) and partial cut
FONT_PX = 22  # the raster receipt's type size: about 50 Latin or 44 Cyrillic letters on 80 mm
MIN_FONT_PX = 14  # a line wider than the paper shrinks down to this size before it is cut
LINE_PX = 28  # one line of it, with the accents of capitals (Ż, Й) and the descenders
MARGIN_PX = 8


class Receipt(BaseModel):
    """What goes on paper for one order."""

    order_id: str
    claim_url: str | None
    stamps: int
    total: Decimal
    currency: str
    till: str | None = None
    issued_at: datetime
    expires_at: datetime | None = None
    lines: list[str] = []
    title: str | None = None  # a receipt that is not an order's (the self-test)
    shop: str = ""  # the shop's name, printed first (the business's, as the cloud sends it)
    code_text: str | None = None  # under the QR; None: the claim token's short code
    language: Language = DEFAULT_LANGUAGE  # the branch's: words, dates, money, code page

    def code_line(self) -> str:
        """The text printed under the QR: what staff quote for this receipt."""
        if self.code_text is not None:
            return self.code_text
        return short_code(self.claim_url) if self.claim_url else ""


def short_code(url: str) -> str:
    """The code printed under the QR: the token's last 8 characters, for staff to quote."""
    token = url.rstrip("/").rsplit("/", 1)[-1]
    tail = token[-8:]
    return f"{tail[:4]}-{tail[4:]}" if len(tail) > 4 else tail


def _clean(text: str) -> str:
    # Text from the POS must never smuggle printer commands (ESC, GS, DLE) onto the wire.
    return "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in text)


def text_lines(receipt: Receipt, settings: PrinterSettings) -> tuple[list[str], list[str]]:
    """The lines above the QR (centred header, order facts) and the body lines (left aligned)."""
    lang = receipt.language
    head = [line for line in settings.header.splitlines() if line.strip()]
    if receipt.shop.strip() and (not head or head[0].strip() != receipt.shop.strip()):
        head.insert(0, receipt.shop.strip())  # the config's header follows the shop's name
    if receipt.title is not None:
        facts = [receipt.title]
    elif receipt.till:
        facts = [t("receipt.order.till", lang, order=receipt.order_id, till=receipt.till)]
    else:
        facts = [t("receipt.order", lang, order=receipt.order_id)]
    facts.append(moment(receipt.issued_at, lang))  # already in the branch's zone
    if receipt.title is None and (receipt.claim_url is not None or receipt.stamps):
        total = t("receipt.total", lang, total=money(receipt.total, receipt.currency, lang))
        facts.append(f"{total}   {plural('receipt.stamps', receipt.stamps, lang)}")
    return [_clean(x) for x in head + facts], [_clean(x) for x in receipt.lines]


def footer_text(settings: PrinterSettings, lang: str) -> str:
    """The line above the QR: the configured one, else "Scan for your stamps" in ``lang``."""
    return settings.footer_text or t("receipt.scan", lang)


def tail_lines(receipt: Receipt) -> list[str]:
    """The lines under the QR: the short code and the day the QR stops working."""
    if not receipt.claim_url:
        return []
    tail = [_clean(receipt.code_line())]
    if receipt.expires_at is not None:
        valid = day(receipt.expires_at, receipt.language)
        tail.append(t("receipt.valid", receipt.language, date=valid))
    return tail


def _all_text(receipt: Receipt, settings: PrinterSettings) -> list[str]:
    head, body = text_lines(receipt, settings)
    footer = [_clean(footer_text(settings, receipt.language))] if receipt.claim_url else []
    return [*head, *body, *footer, *tail_lines(receipt)]


def code_page(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> CodePage:
    """The printer's code page for this receipt: its language's letters and its own words."""
    return caps.page_for(receipt.language, "".join(_all_text(receipt, settings)))


def receipt_warnings(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> list[str]:
    """What the printer cannot print as written: the characters replaced in its code page."""
    if caps.qr_mode == "star":
        return []  # drawn as an image: every character prints
    page = code_page(receipt, settings, caps)
    replaced: list[str] = []
    for line in _all_text(receipt, settings):
        replaced += [ch for ch in encode(line, page.codec)[1] if ch not in replaced]
    if not replaced:
        return []
    return [
        f"{page.name} cannot print {' '.join(replaced)}: replaced by the nearest letters "
        f"(printer.profile {caps.model} lists no better page for {receipt.language})"
    ]


def _text(lines: Iterable[str], codec: str) -> bytes:
    return b"".join(encode(line, codec)[0] + b"\n" for line in lines)


def qr_part(url: str, settings: PrinterSettings, caps: Capabilities) -> bytes:
    """The QR alone in the ESC/POS mode chosen for this printer (native or raster)."""
    ec = settings.qr_error_correction
    if caps.qr_mode == "native":
        return native_qr(url, module_size=settings.qr_module_size, ec=ec)
    if caps.qr_mode == "image":
        return raster_qr_block(url, module_dots=settings.qr_module_size, ec=ec)
    return star_qr_block(url, settings, caps)


def star_qr_block(url: str, settings: PrinterSettings, caps: Capabilities) -> bytes:
    """The QR alone as a complete Star raster job piece (enter raster, lines, quit raster)."""
    rows = bitmap_rows(qr_matrix(url, settings.qr_error_correction), settings.qr_module_size, 4)
    left = max(0, (caps.paper_dots // 8 - len(rows[0])) // 2)
    return STAR_START + star_rows(rows, left_bytes=left) + ESC + b"*rB"


def qr_footer(
    url: str,
    settings: PrinterSettings,
    caps: Capabilities,
    code: str | None = None,
    lang: str = DEFAULT_LANGUAGE,
    page: CodePage | None = None,
) -> bytes:
    """The must-have footer: a short line of text, the QR, the short code under it (``code``,
    or the claim token's short code)."""
    # The raster block ends with its own quiet-zone feed; a native or Star QR needs the LF.
    after = b"" if caps.qr_mode == "image" else b"\n"
    codec = page.codec if page else caps.codec
    return (
        ALIGN_CENTER
        + _text([_clean(footer_text(settings, lang))], codec)
        + qr_part(url, settings, caps)
        + after
        + _text([_clean(short_code(url) if code is None else code)], codec)
    )


def build_escpos(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> bytes:
    """A whole ESC/POS receipt job: ESC @, code page, text, QR footer, cut."""
    head, body = text_lines(receipt, settings)
    page = code_page(receipt, settings, caps)
    out = bytearray(INIT + ESC + b"t" + bytes((page.number,)))
    out += ALIGN_CENTER + _text(head, page.codec)
    if body:
        out += ALIGN_LEFT + _text(body, page.codec)
    if receipt.claim_url:
        out += b"\n" + qr_footer(
            receipt.claim_url, settings, caps, receipt.code_line(), receipt.language, page
        )
        out += _text(tail_lines(receipt)[1:], page.codec)
    out += ALIGN_LEFT + CUT
    return bytes(out)


@lru_cache(maxsize=1)
def _font_file() -> bytes:
    return fonts.REGULAR.read_bytes()


def receipt_font(size: int = FONT_PX) -> "ImageFont.FreeTypeFont":
    """The raster receipt's typeface at ``size`` pixels (blocking: the first call reads the
    file; draw receipts in a worker thread). A new face per call: FreeType faces are not
    shared between the threads that draw receipts and previews."""
    from PIL import ImageFont

    return ImageFont.truetype(io.BytesIO(_font_file()), size)


def render_image(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> "Image.Image":
    """The receipt drawn as a 1-bit image as wide as the paper (Star printers, PNG preview)."""
    from PIL import Image, ImageDraw

    width = caps.paper_dots - caps.paper_dots % 8
    sizes: dict[int, ImageFont.FreeTypeFont] = {}
    head, body = text_lines(receipt, settings)
    qr_img: Image.Image | None = None
    if receipt.claim_url:
        matrix = qr_matrix(receipt.claim_url, settings.qr_error_correction)
        rows = bitmap_rows(matrix, settings.qr_module_size, QUIET_MODULES)
        side = len(rows)
        qr_img = Image.frombytes("1", (len(rows[0]) * 8, side), b"".join(rows))
        qr_img = qr_img.crop((0, 0, side, side)).point(lambda v: 255 - v)
    line_h = LINE_PX
    tail = tail_lines(receipt)
    footer = [footer_text(settings, receipt.language)] if receipt.claim_url else []
    n_lines = len(head) + len(body) + len(footer) + len(tail)
    height = 16 + n_lines * line_h + (qr_img.height + 8 if qr_img else 0) + 40
    img = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(img)
    y = 8

    def fitted(text: str) -> "ImageFont.FreeTypeFont":
        # 58 mm paper holds ~29 Cyrillic letters at full size: a longer line is drawn smaller
        for size in range(FONT_PX, MIN_FONT_PX - 1, -1):
            font = sizes[size] = sizes.get(size) or receipt_font(size)
            if draw.textlength(text, font=font) <= width - 2 * MARGIN_PX:
                break
        return font

    def put(text: str, *, center: bool) -> None:
        nonlocal y
        font = fitted(text)
        w = draw.textlength(text, font=font)
        x = (width - w) / 2 if center else MARGIN_PX
        draw.text((x, y), text, font=font, fill=0)
        y += line_h

    for line in head:
        put(line, center=True)
    for line in body:
        put(line, center=False)
    for line in footer:
        put(line, center=True)
    if qr_img is not None:
        img.paste(qr_img, ((width - qr_img.width) // 2, y))
        y += qr_img.height + 8
    for line in tail:
        put(line, center=True)
    return img


def image_rows(img: "Image.Image") -> list[bytes]:
    """A 1-bit PIL image as printer rows (1 = black), width padded to whole bytes."""
    mono = img.convert("1")
    width_bytes = (mono.width + 7) // 8
    raw = mono.tobytes()  # PIL "1": 1 = white, rows padded to whole bytes
    inverted = bytes(b ^ 0xFF for b in raw)
    rows = [inverted[i * width_bytes : (i + 1) * width_bytes] for i in range(mono.height)]
    pad_bits = width_bytes * 8 - mono.width
    if pad_bits:
        mask = (0xFF << pad_bits) & 0xFF
        rows = [r[:-1] + bytes((r[-1] & mask,)) for r in rows]
    return rows


def build_star(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> bytes:
    """A whole Star raster job: the receipt as an image, then feed and cut."""
    rows = image_rows(render_image(receipt, settings, caps))
    return INIT + STAR_START + star_rows(rows) + STAR_END


def build_job(receipt: Receipt, settings: PrinterSettings, caps: Capabilities) -> bytes:
    """The bytes of one receipt job for this printer, whatever its mode."""
    if caps.qr_mode == "star":
        return build_star(receipt, settings, caps)
    return build_escpos(receipt, settings, caps)
