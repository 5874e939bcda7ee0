"""The POS's order body, read by hand on the hot path; pydantic judges anything unusual.

``OrderRequest`` (in ``agent.http.models``) stays the contract: the OpenAPI document and every 422
come from it. Most checks a till sends are plain (``order_id``, a decimal ``total``, maybe a
till, a currency, a card), and validating those through pydantic cost more main-thread time
than the rest of the order. ``read_order`` accepts such a body only when every value is of the
simplest form pydantic itself would accept unchanged; anything else (a wrong type, a number in
another notation, an email, a field too long) goes to ``OrderRequest`` which accepts or
refuses it with its usual error. A property test holds the two paths to the same result.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from agent.http.models import OrderRequest
from sync.contract.customers import CustomerRef
from sync.contract.limits import (
    CARD_TEXT_MAX_LEN,
    CURRENCY_RE,
    CUSTOMER_NUMBER_RE,
    MAX_TOTAL,
    ORDER_ID_RE,
    TILL_MAX_LEN,
)
from sync.web.http_util import validation_error


@dataclass(frozen=True, slots=True)
class OrderInput:
    """A validated paid check, as the order service uses it."""

    order_id: str
    total: Decimal
    currency: str | None = None
    till: str | None = None
    customer: CustomerRef | None = None
    receipt_qr: bool | None = None
    print_receipt: bool | None = None

    @classmethod
    def of(cls, req: OrderRequest) -> "OrderInput":
        return cls(
            order_id=req.order_id,
            total=req.total,
            currency=req.currency,
            till=req.till,
            customer=req.customer,
            receipt_qr=req.receipt_qr,
            print_receipt=req.print_receipt,
        )


# At most nine integer digits: always below MAX_TOTAL (1e9). ASCII digits only (``\d`` is
# Unicode). Four decimals at most, as ``OrderRequest.total`` allows.
_TOTAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,4})?")
assert Decimal("9" * 9 + ".9999") <= MAX_TOTAL  # the pattern stays within the limit
_FIELDS = frozenset(("order_id", "total", "currency", "till", "customer", "receipt_qr", "print"))


def read_order(data: dict[str, Any]) -> OrderInput:
    """The body as an ``OrderInput``; ``InvalidInput`` (422) exactly as ``OrderRequest`` says."""
    fast = _plain(data)
    if fast is not None:
        return fast
    try:
        return OrderInput.of(OrderRequest.model_validate(data))
    except ValidationError as err:
        raise validation_error(err) from err


def _plain(data: dict[str, Any]) -> OrderInput | None:
    """The body if it is of the plain form, else None (pydantic decides)."""
    if not _FIELDS.issuperset(data):
        return None
    order_id = data.get("order_id")
    if type(order_id) is not str or ORDER_ID_RE.fullmatch(order_id) is None:
        return None
    total = _total(data.get("total"))
    if total is None:
        return None
    currency = data.get("currency")
    if currency is not None and (type(currency) is not str or not CURRENCY_RE.fullmatch(currency)):
        return None
    till = data.get("till")
    if till is not None and not _text(till, TILL_MAX_LEN):
        return None
    receipt_qr = data.get("receipt_qr")
    print_receipt = data.get("print")
    if (receipt_qr is not None and type(receipt_qr) is not bool) or (
        print_receipt is not None and type(print_receipt) is not bool
    ):
        return None
    customer = data.get("customer")
    ref: CustomerRef | None = None
    if customer is not None:
        ref = _customer(customer)
        if ref is None:
            return None
    return OrderInput(order_id, total, currency, till, ref, receipt_qr, print_receipt)


def _total(value: object) -> Decimal | None:
    if type(value) is str:
        return Decimal(value) if _TOTAL.fullmatch(value) else None
    if type(value) is int:
        return Decimal(value) if 0 <= value <= MAX_TOTAL else None
    return None  # a JSON number with a fraction, or anything else: pydantic decides


def _text(value: object, max_len: int) -> bool:
    """A string of 1 to ``max_len`` characters that is valid Unicode (no lone surrogates)."""
    if type(value) is not str or not 1 <= len(value) <= max_len:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _customer(value: object) -> CustomerRef | None:
    """A card code or six-digit number given alone; emails and the rest go to pydantic."""
    if type(value) is not dict or len(value) != 1:
        return None
    if _text(card := value.get("card"), CARD_TEXT_MAX_LEN):
        return CustomerRef.model_construct(card=card)
    if type(number := value.get("number")) is str and CUSTOMER_NUMBER_RE.fullmatch(number):
        return CustomerRef.model_construct(number=number)
    return None
