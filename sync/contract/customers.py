"""Customer references (pure): the one way to name a customer, and its one canonical form.

A customer is named by exactly one of a card code, a six-digit card number, an email or a phone
number. The canonical form is what every lookup and every index key uses: a card code trimmed
and upper-cased (``card_code.canonical_card_text``; checked as well by
``card_code.normalize_card_code`` where a bad code must be refused), an email trimmed and
lower-cased, a number as it is, a phone in E.164 (``phones.canonical_phone``, read in the
business's country). Nothing else in the code base upper- or lower-cases these.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from sync.contract.card_code import canonical_card_text, normalize_card_code
from sync.contract.limits import CardText, CustomerNumber, Email
from sync.contract.phones import Phone, PhoneError, canonical_phone

RefKind = Literal["card", "number", "email", "phone"]


def canonical_email(text: str) -> str:
    """The one canonical spelling of an email: trimmed and lower-case."""
    return text.strip().lower()


canonical_card = canonical_card_text
"""The canonical spelling of a card code as given (not checked); the same function, named here
beside ``canonical_email`` (no extra call on the cloud's intake path)."""


def canonical_text(kind: RefKind, text: str) -> str:
    """``text`` in the canonical form of a reference of ``kind``."""
    if kind == "card":
        return canonical_card_text(text)
    if kind == "email":
        return canonical_email(text)
    if kind == "phone":
        try:  # a phone with its country code; else as given (the till sends E.164)
            return canonical_phone(text, None)
        except PhoneError:
            return text.strip()
    return text


def ref_key_of(kind: RefKind, text: str) -> str:
    """The index key of a reference (``c:CODE``, ``n:123456``, ``e:mail``, ``p:+E164``),
    canonical."""
    return kind[0] + ":" + canonical_text(kind, text)


class CustomerRef(BaseModel):
    """Exactly one way of naming a customer: card code, six-digit number, email or phone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    card: CardText | None = None
    number: CustomerNumber | None = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "CustomerRef":
        given = [v for v in (self.card, self.number, self.email, self.phone) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of card, number, email, phone")
        return self

    @property
    def kind(self) -> RefKind:
        """Which of the four names is given."""
        if self.card is not None:
            return "card"
        if self.number is not None:
            return "number"
        if self.email is not None:
            return "email"
        return "phone"

    @property
    def text(self) -> str:
        """The name given, as given."""
        for value in (self.card, self.number, self.email, self.phone):
            if value is not None:
                return value
        raise AssertionError("exactly one is set")

    def key(self) -> str:
        """The canonical index key (``ref_key_of``)."""
        return ref_key_of(self.kind, self.text)

    def canonical(self, country: str | None = None) -> "CustomerRef":
        """The same reference in its canonical form; ``CardCodeError`` (a ``ValueError``, from
        ``normalize_card_code``) if the card code is not a well-formed one, ``PhoneError`` if
        the phone is not a valid number (read in ``country``, the business's)."""
        if self.phone is not None:
            phone = canonical_phone(self.phone, country)
            return self if phone == self.phone else CustomerRef(phone=phone)
        if self.card is not None:
            code = normalize_card_code(self.card)
            return self if code == self.card else CustomerRef(card=code)
        if self.email is not None:
            email = canonical_email(self.email)
            return self if email == self.email else CustomerRef(email=email)
        return self
