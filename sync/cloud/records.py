"""What the ledger rules read of each event (pure): small checked records, and one incoming event.

The wire models (``sync.protocol``: ``OrderPayload``, ``ScanPayload``, ...) say what a payload
may hold; the ledger needs only a few of their fields. ``intake.py`` builds these records straight
from decoded JSON when it can vouch for them, and ``record_of`` builds the very same record from a
validated wire model otherwise, so both roads give the ledger equal input.

A customer is named by its index key (``book.ref_key``): ``"c:CODE"``, ``"n:NUMBER"`` or
``"e:email"``.
"""

from dataclasses import dataclass

from pydantic import BaseModel

from sync.cloud.book import Rejected, ref_key, to_us
from sync.protocol import AttachPayload, OrderPayload, ScanPayload, VoidPayload

# Not frozen: a batch makes 500 of these on the event loop, and frozen ones cost about four
# times as much to make (as ``book.Entry``); nothing changes one once made.


@dataclass(slots=True)
class OrderIn:
    """``order.stamped``, ``receipt_qr.issued`` and ``order.recorded``."""

    order_id: str
    total: str  # the Decimal as text, as the orders table keeps it
    stamps: int
    customer: str | None
    order_ref: str | None
    claim_expires_us: int | None


@dataclass(slots=True)
class AttachIn:
    """``order.attached``."""

    order_id: str
    customer: str


@dataclass(slots=True)
class VoidIn:
    """``order.voided``."""

    order_id: str


@dataclass(slots=True)
class ScanIn:
    """``scan.stamped``."""

    customer: str
    stamps: int


Record = OrderIn | AttachIn | VoidIn | ScanIn


@dataclass(slots=True)
class Incoming:
    """One event of a batch, worked out before the write lock: its id text, ``device_time`` as
    stored, canonical payload JSON and hash, and its record (or why it is malformed)."""

    eid: str
    type: str
    device_time: str
    payload_json: str
    digest: str
    record: Record | Rejected


def record_of(model: BaseModel) -> Record:
    """The record of a validated wire payload."""
    if isinstance(model, OrderPayload):
        expires = model.claim_expires_at
        return OrderIn(
            order_id=model.order_id,
            total=str(model.total),
            stamps=model.stamps,
            customer=None if model.customer is None else ref_key(model.customer),
            order_ref=model.order_ref,
            claim_expires_us=None if expires is None else to_us(expires),
        )
    if isinstance(model, AttachPayload):
        return AttachIn(model.order_id, ref_key(model.customer))
    if isinstance(model, VoidPayload):
        return VoidIn(model.order_id)
    if isinstance(model, ScanPayload):
        return ScanIn(ref_key(model.customer), model.stamps)
    raise TypeError(f"no record for {type(model).__name__}")  # pragma: no cover
