"""What the ledger rules read of each event (pure): small checked records, and one incoming event.

The wire models (``sync.contract.events``: ``OrderPayload``, ``ScanPayload``, ...) say what a
payload may hold; the ledger needs only a few of their fields. ``intake.py`` builds these records
straight from decoded JSON when it can vouch for them, and ``record_of`` builds the very same
record from a validated wire model otherwise, so both roads give the ledger equal input.

A customer is named by its index key (``book.ref_key``): ``"c:CODE"``, ``"n:NUMBER"`` or
``"e:email"``.
"""

from dataclasses import dataclass, field

from pydantic import BaseModel

from sync.cloud.book import Rejected, order_refs, ref_key, to_us
from sync.contract.events import (
    AttachPayload,
    EventType,
    OrderPayload,
    RedeemPayload,
    ScanPayload,
    VoidPayload,
)
from sync.contract.reward_code import normalize_reward_code

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
    till: str | None = None


@dataclass(slots=True)
class AttachIn:
    """``order.attached``."""

    order_id: str
    customer: str
    till: str | None = None


@dataclass(slots=True)
class VoidIn:
    """``order.voided``."""

    order_id: str
    till: str | None = None


@dataclass(slots=True)
class ScanIn:
    """``scan.stamped``."""

    customer: str
    stamps: int


@dataclass(slots=True)
class RedeemIn:
    """``reward.redeemed``: the code in its stored form."""

    code: str
    order_id: str | None


Record = OrderIn | AttachIn | VoidIn | ScanIn | RedeemIn


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
            till=model.till,
        )
    if isinstance(model, AttachPayload):
        return AttachIn(model.order_id, ref_key(model.customer), model.till)
    if isinstance(model, VoidPayload):
        return VoidIn(model.order_id, model.till)
    if isinstance(model, ScanPayload):
        return ScanIn(ref_key(model.customer), model.stamps)
    if isinstance(model, RedeemPayload):
        try:
            return RedeemIn(normalize_reward_code(model.code), model.order_id)
        except ValueError as err:
            raise Rejected("malformed: code: not a reward code") from err
    raise TypeError(f"no record for {type(model).__name__}")  # pragma: no cover


@dataclass
class BatchKeys:
    """What a batch names: its event ids, order ids (``existing``: those a void or attach
    names, which must be there), receipt-QR references and customer reference keys."""

    event_ids: list[str] = field(default_factory=list)
    order_ids: set[str] = field(default_factory=set)
    existing: set[str] = field(default_factory=set)
    qr_refs: set[str] = field(default_factory=set)
    card_refs: list[str] = field(default_factory=list)
    reward_codes: set[str] = field(default_factory=set)


def batch_keys(items: list[Incoming]) -> BatchKeys:
    """The rows ``items`` may touch."""
    keys = BatchKeys(event_ids=[x.eid for x in items])
    for item in items:
        record = item.record
        if isinstance(record, OrderIn | AttachIn | VoidIn):
            keys.order_ids.add(record.order_id)
            if not isinstance(record, OrderIn):
                keys.existing.add(record.order_id)
            # a new QR, or the QR of the order a void or attach names
            if item.type != EventType.ORDER_STAMPED and item.type != EventType.ORDER_RECORDED:
                keys.qr_refs.update(order_refs(record.order_id, record.till))
        if isinstance(record, OrderIn | AttachIn | ScanIn) and record.customer is not None:
            keys.card_refs.append(record.customer)
        elif isinstance(record, RedeemIn):
            keys.reward_codes.add(record.code)
    return keys
