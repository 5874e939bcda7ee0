"""Wallet card codes (pure): ``SC`` + 12 random characters + an ISO 7064 MOD 37,36 check character.

Upper-case alphanumerics only, so a card's QR stays in alphanumeric mode; the check character
catches every single mistyped character and most swaps of neighbours.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PREFIX = "SC"
BODY_LEN = 12
CODE_LEN = len(PREFIX) + BODY_LEN + 1


class CardCodeError(ValueError):
    """Text that is not a well-formed card code."""


def check_char(body: str) -> str:
    """ISO 7064 MOD 37,36 check character of ``body`` (characters of ``ALPHABET``)."""
    m = 36
    p = m
    for ch in body:
        s = (p % (m + 1)) + ALPHABET.index(ch)
        s %= m
        if s == 0:
            s = m
        p = (2 * s) % (m + 1)
    return ALPHABET[(m + 1 - p) % m]


def new_card_code() -> str:
    """A fresh random card code."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LEN))
    return PREFIX + body + check_char(body)


def canonical_card_text(text: str) -> str:
    """The one canonical spelling of a card code as given: trimmed and upper-case, not checked
    (a lookup by an unknown or malformed code simply finds nothing)."""
    return text.strip().upper()


def is_card_code(text: str) -> bool:
    """True if ``text`` is a well-formed card code with a correct check character."""
    code = canonical_card_text(text)
    if len(code) != CODE_LEN or not code.startswith(PREFIX):
        return False
    body, check = code[len(PREFIX) : -1], code[-1]
    if any(ch not in ALPHABET for ch in body):
        return False
    return check_char(body) == check


def normalize_card_code(text: str) -> str:
    """The canonical (upper-case, trimmed) form of a card code; ``CardCodeError`` (a
    ``ValueError``) if not one."""
    code = canonical_card_text(text)
    if not is_card_code(code):
        raise CardCodeError("not a valid card code")
    return code
