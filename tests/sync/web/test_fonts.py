"""The bundled typeface (``sync.web.fonts``): every letter of every catalogue has a glyph in
both weights, and a wheel built from this tree carries the files and their licence."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from reportlab.pdfbase.ttfonts import TTFontFile

from sync.web import fonts
from sync.web.texts import CATALOGUES
from tests.conftest import REPO

# What else reaches paper besides the catalogue's words: money and dates (Babel), the PDFs'
# separator, dashes and quotes, and every letter a shop's or product's name may hold.
ALPHABETS = (
    "ÄÖÜäöüß" + "ĄĆĘŁŃÓŚŹŻąćęłńóśźż" + "".join(map(chr, range(0x0410, 0x0450))) + "ЄІЇҐєіїґʼ"
)
EXTRA = ALPHABETS + "€₴zł\xa0\u202f·\u2013\u2014«»„“”\u2019…№"


def _characters() -> set[str]:
    texts = [
        text
        for entries in CATALOGUES.values()
        for value in entries.values()
        for text in (value if isinstance(value, tuple) else (value,))
    ]
    return {ch for text in [*texts, EXTRA] for ch in text if ch not in "\n\t"}


@pytest.mark.parametrize("path", [fonts.REGULAR, fonts.BOLD], ids=lambda p: p.name)
def test_given_the_catalogues_then_the_bundled_font_has_a_glyph_for_every_letter(
    path: Path,
) -> None:
    """Given every sentence of the four catalogues (and money, dates and names' signs), then
    each character maps to a glyph of the font, so no PDF or raster receipt shows a box."""
    mapped = TTFontFile(str(path)).charToGlyph
    missing = sorted(ch for ch in _characters() if ord(ch) not in mapped)
    assert missing == []
    assert path.stat().st_size < 200_000  # the subset, not the 750 KB originals


def test_the_font_files_ship_with_their_licence() -> None:
    text = fonts.LICENSE.read_text(encoding="utf-8")
    assert "Bitstream Vera Fonts Copyright" in text and "Arev Fonts Copyright" in text


@pytest.mark.slow
def test_given_a_wheel_built_from_the_tree_then_it_carries_the_fonts_and_licence(
    tmp_path: Path,
) -> None:
    """Given ``pip wheel`` of this tree, then the wheel holds both font files byte for byte and
    the licence: an installed cloud or agent does not need a system font."""
    # built from a copy: setuptools leaves its build/ folder in the tree it builds
    tree = tmp_path / "tree"
    shutil.copytree(
        REPO, tree,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "var", "tests", "*.egg-info", "__pycache__"
        ),
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(tree)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    [wheel] = tmp_path.glob("stampedge-*.whl")
    with zipfile.ZipFile(wheel) as z:
        for path in (fonts.REGULAR, fonts.BOLD, fonts.LICENSE):
            assert z.read(f"sync/web/fonts/{path.name}") == path.read_bytes()
