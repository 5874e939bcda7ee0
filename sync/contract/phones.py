"""Phone numbers (pure): the one parser and canonical form, E.164 (``+4930123456``).

Parsing and validation are ``phonenumbers``' (Google's libphonenumber metadata, kept up to date
by its maintainers): a number typed as a shop's customers type it (``030 1234567``) is read in
the business's country (ISO 3166 alpha-2, ``DE``); one given with its country code
(``+49 30 1234567``, ``0049 30 ...``) is read as such anywhere.
"""

from typing import Annotated, Final

import phonenumbers
from pydantic import StringConstraints

PHONE_MAX_LEN: Final = 32
PHONE_PATTERN: Final = r"^[0-9+() ./-]+$"
Phone = Annotated[
    str, StringConstraints(min_length=3, max_length=PHONE_MAX_LEN, pattern=PHONE_PATTERN)
]
"""A phone number as typed: digits, ``+``, spaces, brackets, dots, slashes and dashes."""
_TYPED: Final = frozenset("0123456789+() ./-")
MIN_DIGITS: Final = 7
"""Fewer digits than this are not looked up as a phone (six are a card number)."""


class PhoneError(ValueError):
    """Not a phone number that can be dialled (in the business's country, if it has one)."""


def check_country(code: str) -> str:
    """An ISO 3166 alpha-2 country code phone numbers are known for, upper-cased."""
    upper = code.strip().upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{code!r} is not a two-letter country code (e.g. DE, FR, GB)")
    return upper


def canonical_phone(text: str, country: str | None) -> str:
    """``text`` in E.164, read in ``country`` unless it gives its own country code;
    ``PhoneError`` if it is not a valid number."""
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException as err:
        hint = "" if country else " (give it with its country code, e.g. +49 ...)"
        raise PhoneError(f"not a phone number{hint}") from err
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def load_metadata() -> None:
    """Load every country's numbering metadata now (about 0.2 s; the apps do it in a thread at
    start-up, so no first look-up reads it from disk on the event loop)."""
    phonenumbers.PhoneMetadata.load_all()


def looks_like_phone(text: str) -> bool:
    """Whether a look-up text is meant as a phone number: only what people type in one, and at
    least ``MIN_DIGITS`` digits."""
    return bool(text) and set(text) <= _TYPED and sum(c.isdigit() for c in text) >= MIN_DIGITS
