"""Limits the agent and the cloud share (pure): identifiers, amounts, rule names, batch size.

Each limit is written here once. The pydantic types (``OrderId``, ``Till``, ``Currency``, ...)
carry them for the models; the hand-written fast paths (``agent/orders/body.py``,
``sync/cloud/intake.py``) read the same constants, and property tests hold the two equal.
"""

import re
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BeforeValidator, Field, StringConstraints

RuleName = Literal["per_order", "by_amount"]
"""The earning rules: N stamps per check, or one stamp per ``step`` of the total."""
RULE_NAMES: Final = frozenset(get_args(RuleName))

ORDER_ID_MAX_LEN: Final = 64
"""A POS check id: 1 to 64 printable ASCII characters, no space."""
ORDER_ID_CHARS: Final = r"[\x21-\x7e]"
ORDER_ID_RE: Final = re.compile(f"{ORDER_ID_CHARS}{{1,{ORDER_ID_MAX_LEN}}}")

TILL_MAX_LEN: Final = 64
TILL_PATTERN: Final = r"^[^\x00-\x1f\x7f]+$"
"""A till name has no control characters: a NUL was acknowledged by the agent and refused by
the cloud, so the check never counted. Both ends validate with ``Till`` / ``is_till``."""
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")
CARD_TEXT_MAX_LEN: Final = 64
"""A card code as given (before its canonical form is checked)."""
EMAIL_MAX_LEN: Final = 254
EMAIL_PATTERN: Final = r"^[^@\s]+@[^@\s]+$"
CUSTOMER_NUMBER_PATTERN: Final = r"^[0-9]{6}$"
CUSTOMER_NUMBER_RE: Final = re.compile(r"[0-9]{6}")
"""Six ASCII digits (pydantic's ``\\d`` took Arabic-Indic and full-width digits too)."""
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
CURRENCY_RE: Final = re.compile(r"[A-Z]{3}")

MAX_TOTAL: Final = Decimal("1000000000")
"""The largest check total accepted (agent and the cloud's API channel)."""
MAX_STEP: Final = Decimal("1000000")
MAX_STAMPS_PER_ORDER: Final = 1000
"""The most a program may name as ``max_stamps_per_order`` (or ``stamps_per_order``), and the
most stamps any check, event or receipt token carries."""
MAX_STAMPS_PER_CHECK: Final = 500
"""The stamps one check earns at most when its program names no ``max_stamps_per_order``:
shared by the agent (minting) and the cloud (claims, events). A receipt worth 65,535 stamps once
froze the cloud while it drew 6,553 vouchers."""
MAX_GOAL: Final = 1000
MAX_BATCH: Final = 500
"""Events in one ``POST /v1/sync/events`` batch."""

OrderId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ORDER_ID_MAX_LEN, pattern=f"^{ORDER_ID_CHARS}+$"),
]
Till = Annotated[
    str, StringConstraints(min_length=1, max_length=TILL_MAX_LEN, pattern=TILL_PATTERN)
]
CardText = Annotated[str, StringConstraints(min_length=1, max_length=CARD_TEXT_MAX_LEN)]
Email = Annotated[str, StringConstraints(max_length=EMAIL_MAX_LEN, pattern=EMAIL_PATTERN)]
CustomerNumber = Annotated[str, StringConstraints(pattern=CUSTOMER_NUMBER_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
BatchSize = Annotated[int, Field(ge=1, le=MAX_BATCH)]


def is_order_id(text: str) -> bool:
    """``ORDER_ID_RE.fullmatch(text)``, quicker: 1 to 64 printable ASCII characters, no space."""
    return (
        0 < len(text) <= ORDER_ID_MAX_LEN
        and text.isascii()
        and text.isprintable()
        and " " not in text
    )


def is_till(value: object) -> bool:
    """A till name of the plain form: a string of 1 to 64 characters, no control character."""
    return type(value) is str and 1 <= len(value) <= TILL_MAX_LEN and not _CONTROL_RE.search(value)


PLAIN_MONEY_RE: Final = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?")
"""How an amount may be written as a string where a till or an API client sends one: ASCII
digits and one dot. ``Decimal`` also reads Arabic-Indic and full-width digits, "1_000", " 12"
and "1e3"."""


def plain_money(value: Any) -> Any:
    """A before-validator for amounts: a JSON number, or a string of ASCII digits and a dot."""
    if isinstance(value, bool):
        raise ValueError("must be a number or a decimal string")
    if isinstance(value, str) and not PLAIN_MONEY_RE.fullmatch(value):
        raise ValueError("must be a decimal written with the digits 0-9 and a dot, e.g. 12.50")
    return value


Money = Annotated[Decimal, BeforeValidator(plain_money)]
"""An amount as a till or an API client sends it (``plain_money``)."""
