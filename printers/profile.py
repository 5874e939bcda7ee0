"""What the configured printer can do, from python-escpos's capability profiles (by model name).

``printer.qr = "auto"`` picks native ``GS ( k`` when the profile has ``qrCode``, raster ``GS v 0``
when it does not, and Star raster for TSP100-class models (TSP100, TSP143, ...), which ignore
ESC/POS and are not in python-escpos's database.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from config.agent import PrinterSettings
from printers.errors import PrinterConfigError
from printers.escpos_qr import QrMode
from sync.web.code_pages import CodePage, page_for, python_codec

_STAR_RASTER_MODELS = re.compile(r"^(star[-_ ]?)?tsp1\d\d", re.IGNORECASE)
_DEFAULT_PAPER_DOTS = 576


@dataclass(frozen=True)
class Capabilities:
    """The few profile facts receipt building needs."""

    model: str
    qr_mode: QrMode
    code_page: int  # the ESC t number
    codec: str  # the Python codec for that code page
    paper_dots: int
    # every page the profile lists (name, ESC t number): receipts pick their language's page
    pages: tuple[tuple[str, int], ...] = ()
    configured_page: str = "CP437"  # printer.code_page, tried first for every language

    def page_for(self, language: str, text: str = "") -> CodePage:
        """The page this printer prints ``language`` (and ``text``) in."""
        return page_for(language, dict(self.pages), self.configured_page, text)


@lru_cache(maxsize=16)
def _profile_facts(name: str) -> tuple[bool, dict[str, int], int]:
    # Imported here: python-escpos loads its YAML database on import.
    from escpos.capabilities import get_profile

    try:
        profile: Any = get_profile(name)
    except KeyError as err:
        raise PrinterConfigError(
            f"printer.profile: unknown printer model {name!r}; use a python-escpos profile name "
            "(e.g. TM-T20II, TM-T88V, POS-5890, default) or TSP100/TSP143 for Star raster"
        ) from err
    pages = {str(v): int(k) for k, v in profile.codePages.items() if v != "Unknown"}
    pixels = profile.media.get("width", {}).get("pixels")
    paper = pixels if isinstance(pixels, int) else _DEFAULT_PAPER_DOTS
    return bool(profile.supports("qrCode")), pages, paper


def capabilities(settings: PrinterSettings) -> Capabilities:
    """Resolve the QR mode, code page and paper width for ``settings``."""
    model = settings.profile
    if _STAR_RASTER_MODELS.match(model):
        mode: QrMode = "star" if settings.qr == "auto" else _explicit(settings)
        return Capabilities(model, mode, 0, "cp437", _DEFAULT_PAPER_DOTS)
    has_qr, pages, paper = _profile_facts(model)
    mode = ("native" if has_qr else "image") if settings.qr == "auto" else _explicit(settings)
    wanted = settings.code_page.upper()
    listed = tuple(sorted(pages.items()))
    if wanted in pages and (codec := python_codec(wanted)):
        return Capabilities(model, mode, pages[wanted], codec, paper, listed, wanted)
    # The profile does not list the wanted page: CP437 (page 0) is on every ESC/POS printer.
    return Capabilities(model, mode, 0, "cp437", paper, listed, wanted)


_EXPLICIT: dict[str, QrMode] = {"native": "native", "image": "image", "star": "star"}


def _explicit(settings: PrinterSettings) -> QrMode:
    return _EXPLICIT[settings.qr]
