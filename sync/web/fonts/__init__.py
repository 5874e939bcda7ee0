"""The one typeface of everything Stampedge draws rather than prints as text: the back office's
PDFs (reportlab, ``sync/cloud/backoffice/prints.py``) and the Star raster receipts and PNG
previews (Pillow, ``printers/receipt.py``).

DejaVu Sans, regular and bold, subset by ``scripts/subset-fonts`` to Latin with Latin
Extended-A/B, Cyrillic, General Punctuation and the currency signs (every letter of German,
Polish and Ukrainian; reportlab's and Pillow's built-in fonts have no ą, ł or Cyrillic). The
files ship as package data beside this module with their licence (``LICENSE.txt``); nothing
reads them here: each user loads them once, off the event loop.
"""

from pathlib import Path

FONTS_DIR = Path(__file__).parent
REGULAR = FONTS_DIR / "DejaVuSans.ttf"
BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"
LICENSE = FONTS_DIR / "LICENSE.txt"
