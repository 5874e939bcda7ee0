"""Test helper: every QR on every page of a PDF, rendered by poppler's ``pdftoppm`` and read by
zxing-cpp (what a phone camera would see)."""

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
