# ruff: noqa: RUF002 - Ukrainian receipts are checked letter for letter
"""Star raster receipts in Polish and Ukrainian: every line drawn in the bundled DejaVu Sans,
every letter a real glyph (not the missing-glyph box), read back from the raster job's bytes
as the printer would put them on paper."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw, ImageFont

from config.agent import PrinterSettings
from printers.profile import capabilities
from printers.receipt import (
    FONT_PX,
    LINE_PX,
    Receipt,
    build_star,
    footer_text,
    render_image,
    tail_lines,
    text_lines,
)
from sync.web import fonts
from tests.fakes.escpos_printer import FakePrinterCore

ISSUED = datetime(2026, 12, 7, 21, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Warsaw"))
NOT_A_CHARACTER = "\U000f0000"  # a private-use code point no font of ours maps: the .notdef box
# What a cashier reads, with the letters Pillow's default font has no glyph for.
EXPECTED = {
    "pl": ["Kawiarnia Róża", "Zamówienie A-17  (till-1)", "Zeskanuj po pieczątki",
           "Ważne do 6 sty 2027", "Łódź: żółta gęś, ćma"],
    "uk": ["Кав'ярня «Ґанок»", "Замовлення A-17  (till-1)", "Скануйте, щоб отримати печатки",
           "Дійсно до 6 січ. 2027", "Їжак: щедрий борщ, ґудзик"],
}  # fmt: skip
SHOPS = {"pl": "Kawiarnia Róża", "uk": "Кав'ярня «Ґанок»"}


def _receipt(lang: str) -> Receipt:
    return Receipt(
        order_id="A-17", claim_url="HTTP://CLOUD.EXAMPLE/C/ABCDEFGHJKMNPQRS", stamps=3,
        total=Decimal("1234.50"), currency="EUR", till="till-1", issued_at=ISSUED,
        expires_at=ISSUED + timedelta(days=30), lines=[EXPECTED[lang][-1]], shop=SHOPS[lang],
        language=lang,  # type: ignore[arg-type]
    )  # fmt: skip


def _paper(job: bytes) -> Image.Image:
    """The Star raster job's lines as the printer puts them on paper (1-bit, 1 = white)."""
    core = FakePrinterCore()
    core.feed(core.connect(), job)
    img = core.receipts[0].star_image()
    assert img is not None, "no Star raster lines in the job"
    return img.convert("1")


def _line_band(text: str, width: int, *, center: bool) -> Image.Image:
    """``text`` drawn straight with the bundled font, as one line of a receipt ``width`` wide."""
    font = ImageFont.truetype(str(fonts.REGULAR), FONT_PX)
    band = Image.new("1", (width, LINE_PX), 1)
    draw = ImageDraw.Draw(band)
    x = (width - draw.textlength(text, font=font)) / 2 if center else 8
    draw.text((x, 0), text, font=font, fill=0)
    return band


def _glyph(ch: str) -> bytes:
    """One character drawn alone with the bundled font (the .notdef box if it has none)."""
    img = Image.new("L", (2 * FONT_PX, 2 * FONT_PX), 0)
    ImageDraw.Draw(img).text(
        (4, 4), ch, font=ImageFont.truetype(str(fonts.REGULAR), FONT_PX), fill=255
    )
    return img.tobytes()


def _found(paper: Image.Image, band: Image.Image) -> bool:
    """Whether ``band`` is on ``paper``, row for row, at some height."""
    want = band.crop((0, 0, paper.width, band.height)).tobytes()
    return any(
        paper.crop((0, y, paper.width, y + band.height)).tobytes() == want
        for y in range(paper.height - band.height + 1)
    )


@pytest.mark.parametrize("lang", sorted(EXPECTED))
def test_given_a_star_printer_when_a_receipt_in_lang_is_rastered_then_every_letter_is_drawn(
    lang: str, artifacts_dir: Path
) -> None:
    """Given a TSP143 (Star raster) and a branch speaking Polish or Ukrainian, when a receipt is
    built, then each of its lines is on the rastered paper exactly as the bundled DejaVu Sans
    draws it (shop, order, footer, validity and a POS line with ą ę ł ó ś ź ż or є і ї ґ), and
    no letter on it is drawn as the font's missing-glyph box."""
    settings = PrinterSettings(profile="TSP143")
    caps = capabilities(settings)
    assert caps.qr_mode == "star"
    receipt = _receipt(lang)
    paper = _paper(build_star(receipt, settings, caps))
    width = caps.paper_dots - caps.paper_dots % 8
    shown = Image.new("1", (width, paper.height), 1)  # the job leaves out the white right edge
    shown.paste(paper, (0, 0))
    shown.save(artifacts_dir / f"receipt-star-{lang}.png")
    head, body = text_lines(receipt, settings)
    centred = [*head, footer_text(settings, lang), *tail_lines(receipt)]
    for words in EXPECTED[lang]:
        assert any(words in line for line in [*centred, *body]), (words, centred, body)
    for line in centred:
        assert _found(paper, _line_band(line, width, center=True)), line
    for line in body:
        assert _found(paper, _line_band(line, width, center=False)), line
    missing = _glyph(NOT_A_CHARACTER)
    letters = {ch for line in [*centred, *body] for ch in line if not ch.isspace()}
    assert sorted(ch for ch in letters if _glyph(ch) == missing) == []


def test_given_58mm_paper_when_a_ukrainian_line_is_too_wide_then_it_is_drawn_smaller_not_cut(
    artifacts_dir: Path,
) -> None:
    """Given a POS-5890 (58 mm, 384 dots) and a Ukrainian receipt whose footer "Скануйте, щоб
    отримати печатки" is wider than the paper at full size, when its picture is drawn (the
    file printer's preview, a raster job), then no ink touches the paper's side margins."""
    settings = PrinterSettings(profile="POS-5890")
    caps = capabilities(settings)
    receipt = _receipt("uk")
    footer = footer_text(settings, "uk")
    font = ImageFont.truetype(str(fonts.REGULAR), FONT_PX)
    assert font.getlength(footer) > caps.paper_dots - 16  # the premise: too wide at 22 px
    img = render_image(receipt, settings, caps).convert("L")
    img.save(artifacts_dir / "receipt-58mm-uk.png")
    for x in (*range(4), *range(img.width - 4, img.width)):
        assert img.crop((x, 0, x + 1, img.height)).getextrema() == (255, 255), x
