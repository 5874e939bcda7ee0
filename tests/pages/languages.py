"""Finding English left in a page rendered in another language."""

import json
import re
from html.parser import HTMLParser

from sync.web.texts import CATALOGUES, KEYS

# Words no German, Polish or Ukrainian sentence of ours contains, but most English ones do.
_ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|of|and|stamps?|card|cards|order|orders|total|valid|until|scan|rewards?|"
    r"found|sign|collect|claimed|printed|per|day|device|please|here|this|with)\b",
    re.IGNORECASE,
)
_READ_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")


class _Reader(HTMLParser):
    """What a person reads or hears: text, labels, and the script's sentence tables."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = False  # inside a stylesheet or a program (not a sentence table)
        self.table = False  # inside a script's sentence table (JSON: its values are read)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = dict(attrs).get("type")
        self.skip = tag == "style" or (tag == "script" and kind != "application/json")
        self.table = tag == "script" and kind == "application/json"
        for name, value in attrs:
            if name in _READ_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        self.skip = self.table = False

    def handle_data(self, data: str) -> None:
        if self.table:
            self.parts += _strings(json.loads(data))
        elif not self.skip:
            self.parts.append(data)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def readable_text(html: str) -> str:
    """The text of ``html`` a person reads (tags dropped, labels kept)."""
    reader = _Reader()
    reader.feed(html)
    return "\n".join(reader.parts)


def _english_pieces(lang: str) -> set[str]:
    """The English sentences' fixed parts (between placeholders) that ``lang`` translates."""
    pieces: set[str] = set()
    for key in KEYS:
        en, there = CATALOGUES["en"][key], CATALOGUES[lang][key]
        if en == there:
            continue
        for text in en if isinstance(en, tuple) else (en,):
            for piece in re.split(r"\{\w+\}", text):
                piece = piece.strip(" .,:;()!")
                if len(piece) >= 6 and " " in piece:
                    pieces.add(piece)
    return pieces


def english_left(html: str, lang: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """English sentences and words in a page meant to be in ``lang`` (``allowed``: names in
    the data, such as a business or product name, removed first)."""
    text = readable_text(html)
    for name in allowed:
        text = text.replace(name, " ")
    found = sorted(p for p in _english_pieces(lang) if p in text)
    found += sorted({m.group(0) for m in _ENGLISH_WORDS.finditer(text)})
    return found
