"""Pure ESC/POS building: the bytes a printer gets, checked by parsing them back and by scanning
the raster and Star images with a real QR decoder (zxing-cpp), quiet zone included: for raster,
on the paper the fake printer rebuilds (the quiet zone is paper, not image bytes)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image, ImageOps

from config.agent import PrinterSettings
from printers.errors import PrinterConfigError
from printers.escpos_qr import (
    QUIET_MODULES,
    native_qr,
    qr_matrix,
    raster_qr,
    raster_qr_block,
    star_qr,
)
from printers.profile import capabilities
from printers.qr_export import qr_escpos, qr_png, qr_svg
from printers.receipt import Receipt, build_job, render_image, short_code
from printers.status import interpret
from tests.fakes.escpos_printer import EscposParser, FakePrinterCore, FakeReceipt, Page

URL = "HTTP://127.0.0.1:8788/C/" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOP"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def receipt(**kw: object) -> Receipt:
    base: dict[str, object] = {
        "order_id": "A-17",
        "claim_url": URL,
        "stamps": 2,
        "total": Decimal("24.50"),
        "currency": "EUR",
        "till": "till-1",
        "issued_at": NOW,
        "expires_at": NOW,
    }
    base.update(kw)
    return Receipt.model_validate(base)


def parse_job(data: bytes) -> FakeReceipt:
    core = FakePrinterCore()
    conn = core.connect()
    core.feed(conn, data)
    assert core.receipts, "no ESC @ in the job"
    return core.receipts[0]


def decode(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img)]


def test_url_is_72_chars_like_a_real_claim_url() -> None:
    assert len(URL) == 72


@pytest.mark.parametrize("ec", ["L", "M", "Q", "H"])
@pytest.mark.parametrize("size", [1, 4, 16])
def test_native_qr_is_41_bytes_plus_the_url_and_parses_back(ec: str, size: int) -> None:
    data = native_qr(URL, module_size=size, ec=ec)  # type: ignore[arg-type]
    assert len(data) == 41 + len(URL)
    cmds = EscposParser().feed(data)
    assert [(c.name, c.args) for c in cmds] == [
        ("QR", b"A"),
        ("QR", b"C"),
        ("QR", b"E"),
        ("QR", b"P"),
        ("QR", b"Q"),
    ]
    assert cmds[0].data == b"2\x00"  # model 2
    assert cmds[1].data == bytes([size])
    assert cmds[2].data == bytes([48 + "LMQH".index(ec)])
    assert cmds[3].data == URL.encode()


def test_whole_receipt_starts_with_init_sets_code_page_and_ends_with_cut() -> None:
    settings = PrinterSettings(profile="TM-T20II", footer_text="Scan me €", header="Cafe Uno")
    caps = capabilities(settings)
    job = parse_job(build_job(receipt(), settings, caps))
    names = [c.name for c in job.commands]
    assert names[0] == "ESC @" and names[1] == "ESC t" and names[-1] == "CUT"
    assert job.code_page == 19
    assert job.qr_payloads == [URL]
    text = job.text
    assert "Cafe Uno" in text and "Scan me €" in text and "Order A-17" in text
    assert short_code(URL) in text
    assert text.index("Scan me") < text.index(short_code(URL))  # code under the QR


def test_pos_text_cannot_smuggle_printer_commands() -> None:
    settings = PrinterSettings(profile="TM-T20II")
    job = build_job(receipt(order_id="X\x1b@\x1dV\x00"), settings, capabilities(settings))
    assert job.count(b"\x1b@") == 1
    assert job.count(b"\x1dV") == 1


def assert_scannable_on_paper(page: Page, module: int) -> None:
    """The QR on the rebuilt paper decodes, and 4 modules round it are white paper."""
    assert decode(page.image) == [URL]
    [(x0, y0, x1, y1)] = page.images
    q = QUIET_MODULES * module
    assert x0 >= q and y0 >= q and x1 + q <= page.image.width and y1 + q <= page.image.height
    for box in [
        (x0 - q, y0 - q, x1 + q, y0),  # above
        (x0 - q, y1, x1 + q, y1 + q),  # below
        (x0 - q, y0, x0, y1),  # left
        (x1, y0, x1 + q, y1),  # right
    ]:
        assert page.image.crop(box).getextrema() == (255, 255), box


@pytest.mark.parametrize("paper", [384, 576])
@pytest.mark.parametrize("ec", ["L", "M"])
@pytest.mark.parametrize("module", [2, 3, 4, 6])
def test_raster_qr_quiet_zone_is_paper_and_the_printed_page_scans(
    module: int, ec: str, paper: int
) -> None:
    """Given a raster QR block, when the fake printer lays out the paper between two text
    lines, then the image holds the symbol only and the page scans with a white quiet zone."""
    block = raster_qr_block(URL, module_dots=module, ec=ec)  # type: ignore[arg-type]
    job = parse_job(b"\x1b@\x1ba\x01Scan for your stamps\n" + block + b"ABCD-EFGH\n\x1dV\x00")
    [img] = job.raster_images()
    side = len(qr_matrix(URL, ec)) * module  # type: ignore[arg-type]
    assert img.height == side  # no white rows or columns sent: the quiet zone is paper
    inverted = ImageOps.invert(img.crop((0, 0, side, side)))
    assert inverted.getbbox() == (0, 0, side, side)  # dark modules touch every edge
    assert_scannable_on_paper(job.page(paper), module)


def test_raster_qr_without_the_paper_margins_is_not_enough() -> None:
    """The check above can fail: text right under the image breaks the quiet zone."""
    image = raster_qr(URL, module_dots=4, ec="M")
    job = parse_job(b"\x1b@\x1ba\x01Scan for your stamps\n" + image + b"ABCDEFGHIJKLMNOP\n")
    with pytest.raises(AssertionError):
        assert_scannable_on_paper(job.page(), 4)


@pytest.mark.parametrize(("ec", "version"), [("L", 3), ("M", 4)])
def test_the_smallest_version_that_fits_is_used(ec: str, version: int) -> None:
    """A 72-character alphanumeric URL fits version 3 at EC L (77) and version 4 at EC M (90)."""
    assert len(qr_matrix(URL, ec)) == 17 + 4 * version  # type: ignore[arg-type]


def test_raster_receipt_for_printer_without_native_qr_scans() -> None:
    settings = PrinterSettings(profile="POS-5890", qr="auto")
    caps = capabilities(settings)
    assert caps.qr_mode == "image"
    job = parse_job(build_job(receipt(), settings, caps))
    assert job.qr_payloads == []
    assert_scannable_on_paper(job.page(caps.paper_dots), settings.qr_module_size)


def test_star_receipt_scans_and_uses_no_escpos_qr() -> None:
    settings = PrinterSettings(profile="TSP143", qr="auto")
    caps = capabilities(settings)
    assert caps.qr_mode == "star"
    job = parse_job(build_job(receipt(), settings, caps))
    names = {c.name for c in job.commands}
    assert "QR" not in names and "GS v 0" not in names
    assert {"STAR A", "STAR b", "STAR B"} <= names
    img = job.star_image()
    assert img is not None and decode(img) == [URL]


def test_star_qr_alone_scans() -> None:
    data = b"\x1b@\x1b*rA" + star_qr(URL, module_dots=4, ec="M") + b"\x1b*rB"
    img = parse_job(data).star_image()
    assert img is not None and decode(img) == [URL]


@pytest.mark.parametrize(
    ("profile", "qr", "mode"),
    [
        ("TM-T20II", "auto", "native"),
        ("TM-T88V", "auto", "native"),
        ("POS-5890", "auto", "image"),
        ("simple", "auto", "image"),
        ("TSP100", "auto", "star"),
        ("TSP143", "auto", "star"),
        ("POS-5890", "native", "native"),
        ("TM-T20II", "image", "image"),
    ],
)
def test_qr_auto_follows_the_python_escpos_profile(profile: str, qr: str, mode: str) -> None:
    assert capabilities(PrinterSettings(profile=profile, qr=qr)).qr_mode == mode


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(PrinterConfigError, match="unknown printer model"):
        capabilities(PrinterSettings(profile="NoSuchPrinter-9000"))


def test_code_page_falls_back_to_cp437_when_the_model_lacks_it() -> None:
    caps = capabilities(PrinterSettings(profile="simple", code_page="CP858"))
    assert (caps.code_page, caps.codec) == (0, "cp437")


def test_png_preview_of_a_receipt_scans() -> None:
    settings = PrinterSettings(profile="TM-T20II")
    img = render_image(receipt(), settings, capabilities(settings))
    assert decode(ImageOps.expand(img.convert("L"), 0)) == [URL]


def test_qr_exports_png_svg_escpos() -> None:
    import io

    png = Image.open(io.BytesIO(qr_png(URL, ec="M", scale=4)))
    assert decode(png) == [URL]
    svg = qr_svg(URL, ec="M")
    assert svg.startswith("<svg") and URL in svg and "<path" in svg
    settings = PrinterSettings(profile="TM-T20II")
    piece = qr_escpos(URL, settings, capabilities(settings))
    assert b"\x1b@" not in piece and b"\x1dV" not in piece
    cmds = EscposParser().feed(piece)
    assert [c.data for c in cmds if c.name == "QR" and c.args == b"P"] == [URL.encode()]


@pytest.mark.parametrize(
    ("answers", "state"),
    [
        ({1: 0x16, 2: 0x12, 4: 0x12}, "ok"),
        ({1: 0x1E, 2: 0x32, 4: 0x72}, "paper_out"),
        ({1: 0x1E, 2: 0x16, 4: 0x12}, "cover_open"),
        ({1: 0x1E, 2: 0x12, 4: 0x12}, "offline"),
        ({1: 0x1E, 2: 0x52, 4: 0x12}, "error"),
        ({1: None, 2: None, 4: None}, "unknown"),
        ({1: 0x16, 2: None, 4: None}, "unknown"),  # half an answer is not "ok"
        ({1: 0x41, 2: 0x12, 4: 0x12}, "unknown"),  # not a status byte
    ],
)
def test_status_answers_become_states_and_silence_is_never_ok(
    answers: dict[int, int | None], state: str
) -> None:
    assert interpret(answers)[0] == state
