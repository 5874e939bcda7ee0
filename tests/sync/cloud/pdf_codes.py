"""Test helpers reading a PDF with poppler: every QR on every page (``pdftoppm``, read by
zxing-cpp: what a phone camera would see), its text (``pdftotext``), its fonts (``pdffonts``),
and page 1 as a PNG for a person to look at."""

import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image


def qr_texts(pdf: bytes, folder: Path, dpi: int = 150) -> list[str]:
    """The text of each QR found, page by page (blocking: call from a worker thread)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "batch.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(folder / "page")], check=True
    )
    found: list[str] = []
    for png in sorted(folder.glob("page*.png")):
        with Image.open(png) as img:
            found += [r.text for r in zxingcpp.read_barcodes(img)]
    return found


def page_count(pdf: bytes, folder: Path) -> int:
    """How many pages ``pdftoppm`` rendered (after ``qr_texts``)."""
    del pdf
    return len(list(folder.glob("page*.png")))


def pdf_text(pdf: bytes, folder: Path) -> str:
    """The text of a PDF as poppler's ``pdftotext`` extracts it (UTF-8; blocking)."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "text.pdf"
    source.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True
    )
    return done.stdout.decode("utf-8")


def pdf_fonts(pdf: bytes, folder: Path) -> list[tuple[str, bool]]:
    """Each font of a PDF as ``pdffonts`` lists it: its name and whether it is embedded."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "fonts.pdf"
    source.write_bytes(pdf)
    done = subprocess.run(["pdffonts", str(source)], check=True, capture_output=True, text=True)
    rows = done.stdout.splitlines()[2:]  # a header and a rule
    # name, type (may hold spaces), encoding, emb, sub, uni, object number, generation
    return [(row.split()[0], row.split()[-5] == "yes") for row in rows if row.strip()]


def first_page_png(pdf: bytes, png: Path, dpi: int = 100) -> Path:
    """Page 1 of a PDF rendered by ``pdftoppm`` into ``png`` (for a person to look at)."""
    source = png.with_suffix(".pdf")
    source.write_bytes(pdf)
    stem = png.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", str(source),
         str(stem)], check=True,
    )  # fmt: skip
    source.unlink()
    return png
