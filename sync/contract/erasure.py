"""Erasing a customer's names from stored text (pure): the one scrubber the cloud's ledger
payloads and the till's records both go through (issue #19).

A customer is named by a card code, a six-digit number, an email, a phone number or a name. In
stored text (JSON or plain) each of them is replaced by ``ERASED`` wherever it stands as a
whole word, whatever its case (a till may have been given ``Ann@Example.com`` or a lower-case
card code); a name is also looked for as JSON writes it with non-ASCII letters escaped.
"""

import json
import re
from collections.abc import Iterable

ERASED = "erased"
"""What a customer's name, email, phone, number or card code becomes in scrubbed text."""


def spellings(names: Iterable[str | None]) -> list[str]:
    """Every way ``names`` may be written in stored text (as given, and JSON-escaped), longest
    first (a name containing another is replaced whole), without blanks and duplicates."""
    out: set[str] = set()
    for name in names:
        text = (name or "").strip()
        if text:
            out.add(text)
            out.add(json.dumps(text)[1:-1])
    return sorted(out, key=lambda s: (-len(s), s))


def names_pattern(names: Iterable[str | None]) -> re.Pattern[str] | None:
    """A pattern finding any of ``names`` as a whole word, any case; None if there is none."""
    found = spellings(names)
    if not found:
        return None
    alternatives = "|".join(re.escape(s) for s in found)
    return re.compile(rf"(?<![\w@.+-])(?:{alternatives})(?![\w@-])", re.IGNORECASE)


def erase_names(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with every name ``pattern`` finds replaced by ``ERASED``."""
    return text if pattern is None else pattern.sub(ERASED, text)


def like_needles(names: Iterable[str | None]) -> list[str]:
    """Lower-case substrings a SQL ``lower(column) LIKE`` pre-filter looks for."""
    return sorted({s.lower() for s in spellings(names)})
