# ruff: noqa: RUF001 - a transliteration table is made of Cyrillic letters that look Latin
"""Which ESC/POS code page prints a language, and its text as bytes of that page (pure; here
in ``sync.web`` so that the agent's receipts and the cloud's voucher tickets share it).

A printer shows the bytes after ``ESC t n`` in code page ``n``. For each language the pages
that can hold its letters are tried, among those the printer's profile lists, and the one
that covers most of the alphabet wins (ties: the order below; the configured page first).
A character the page lacks is replaced sensibly: its accent dropped (``ł`` stays ``ł`` on
CP852 but becomes ``l`` on CP437), Cyrillic spelled in Latin letters (the Ukrainian national
transliteration, 2010) when no Cyrillic page exists, typographic marks made plain; only then
``?``. Each replaced character is reported, so the print job can say what changed.
"""

import codecs
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Pages worth trying per language, best first (python-escpos profile names).
LANGUAGE_PAGES: dict[str, tuple[str, ...]] = {
    "en": ("CP437", "CP858", "CP850", "CP1252"),
    "de": ("CP858", "CP1252", "ISO_8859-15", "CP850", "CP437"),
    "pl": ("CP852", "CP1250", "ISO_8859-2"),
    "uk": ("CP866", "CP1251", "CP1125", "CP855"),
}
# The pages python-escpos's ``default`` profile lists, with Epson's ``ESC t`` numbers (the same
# on the TM-T20II and TM-T88V): for a job built for no particular printer (the back office's
# voucher tickets).
COMMON_PAGES: dict[str, int] = {
    "CP437": 0, "CP850": 2, "CP1252": 16, "CP866": 17, "CP852": 18, "CP858": 19,
    "ISO_8859-2": 39, "ISO_8859-15": 40, "CP1250": 45, "CP1251": 46,
}  # fmt: skip
# The letters a language's text needs (the coverage a page is judged by).
ALPHABETS: dict[str, str] = {
    "en": "£",
    "de": "ÄÖÜäöüß€",
    "pl": "ĄĆĘŁŃÓŚŹŻąćęłńóśźż",
    "uk": "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯабвгґдеєжзиіїйклмнопрстуфхцчшщьюя\u2019",
}
# Ukrainian letters in Latin (the national transliteration, simplified: no position rules).
_CYRILLIC_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "shch", "ь": "'", "ю": "iu", "я": "ia", "є": "ie", "ё": "io",
}  # fmt: skip
# Typographic marks and letters with no decomposition, as plain characters.
_PLAIN = {
    "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "€": "EUR", "ß": "ss", "ł": "l", "Ł": "L",
}  # fmt: skip


@dataclass(frozen=True)
class CodePage:
    """A code page the printer has: its ``ESC t`` number, name and Python codec."""

    number: int
    name: str
    codec: str


@lru_cache(maxsize=64)
def python_codec(name: str) -> str | None:
    """The Python codec of a python-escpos page name (``CP852`` -> ``cp852``), or None."""
    guess = name.lower().replace("iso_", "iso").replace("-", "_")
    try:
        return codecs.lookup(guess).name
    except LookupError:
        return None


def _covers(codec: str, letters: str) -> int:
    return sum(1 for ch in letters if _encodable(ch, codec))


def _encodable(ch: str, codec: str) -> bool:
    try:
        ch.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def page_for(language: str, pages: dict[str, int], configured: str, text: str = "") -> CodePage:
    """The printer's page that prints ``language`` (and ``text``, the receipt's own words and
    currency sign) best; ``pages``: the profile's page names -> ESC t numbers."""
    wanted = (configured.upper(), *LANGUAGE_PAGES.get(language, ()))
    letters = ALPHABETS.get(language, "") + "".join(sorted(set(text) - {" "}))
    best: tuple[int, int, CodePage] | None = None
    for rank, name in enumerate(wanted):
        codec = python_codec(name)
        if name not in pages or codec is None:
            continue
        score = _covers(codec, letters)
        if best is None or (score, -rank) > (best[0], best[1]):
            best = (score, -rank, CodePage(pages[name], name, codec))
    # Nothing listed: CP437 (page 0) is on every ESC/POS printer.
    return best[2] if best else CodePage(0, "CP437", "cp437")


def _replacement(ch: str, codec: str) -> str:
    if ch in _PLAIN and _encodable(_PLAIN[ch], codec):
        return _PLAIN[ch]
    lower = ch.lower()
    if lower in _CYRILLIC_LATIN:
        latin = _CYRILLIC_LATIN[lower]
        return latin.capitalize() if ch != lower else latin
    bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if bare and all(_encodable(c, codec) for c in bare):
        return bare
    return "?"


def encode(text: str, codec: str) -> tuple[bytes, list[str]]:
    """``text`` as bytes of ``codec``, and the characters that had to be replaced."""
    out = bytearray()
    replaced: list[str] = []
    for ch in text:
        if unicodedata.category(ch) == "Zs":
            ch = " "  # no-break and narrow spaces (CLDR's money and times) are spaces on paper
        try:
            out += ch.encode(codec)
        except UnicodeEncodeError:
            if ch not in replaced:
                replaced.append(ch)
            out += _replacement(ch, codec).encode(codec, errors="replace")
    return bytes(out), replaced


# Python imports a codec's module on its first lookup (under the import lock): do it now for
# every page a language may pick, not on the event loop when a receipt is built.
for _pages in LANGUAGE_PAGES.values():
    for _name in _pages:
        python_codec(_name)
