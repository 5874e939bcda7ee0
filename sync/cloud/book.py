"""The rows one write transaction works on (``Book``) and the ledger's value types (pure)."""

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sync.cloud import rewards as reward_rules
from sync.cloud.models import ProgramConfig
from sync.contract import claim_token
from sync.contract.events import CustomerRef

MAX_STAMPS_PER_EVENT = 10_000


@functools.lru_cache(maxsize=4096)
def order_refs(order_id: str, till: str | None) -> tuple[str, ...]:
    """``claim_token.order_refs``, remembered: a batch's QR references are worked out for its
    reads (``records.batch_keys``) and again by its rules."""
    return claim_token.order_refs(order_id, till)


def order_scope(device_id: int | None, till: str | None) -> str:
    """Where an order id is unique (issue #14: two tills, or two agents of one branch, may
    both close check ``1001``): ``"<device>/<till>"`` for a device's checks, ``""`` for the
    API channel's and Poster's (device-less, unique per branch as before). The device id is
    digits, so the first ``/`` ends it whatever the till's name holds."""
    return "" if device_id is None else f"{device_id}/{till or ''}"


OrderKey = tuple[str, str]  # (scope, order_id)


# The figures ``GET /v1/stats`` shows, counted when they happen (``Book.count``).
TALLIES = (
    "orders", "voids", "stamps", "qr_issued", "qr_claimed", "rewards_issued", "rewards_redeemed"
)  # fmt: skip
ORDERS, VOIDS, STAMPS, QR_ISSUED, QR_CLAIMED, REWARDS_ISSUED, REWARDS_REDEEMED = range(7)


def to_us(at: datetime) -> int:
    """Microseconds since the epoch (naive times are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1_000_000)


def ref_key(ref: CustomerRef) -> str:
    """The index key of a customer reference (its canonical form, ``CustomerRef.key``)."""
    return ref.key()


_UNKNOWN = {"n:": "unknown card number", "e:": "unknown email", "p:": "unknown phone"}


class Rejected(Exception):
    """An event (or claim) that cannot apply, with the reason told to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Card:
    """A customer's card as the batch sees it."""

    customer_id: int
    card_code: str
    number: str
    email: str | None
    name: str | None
    balance: int
    dirty: bool = False
    phone: str | None = None  # E.164


@dataclass(slots=True)
class Order:
    """A check of this branch."""

    order_id: str
    device_id: int | None
    kind: str  # stamped | qr | recorded
    total: str
    stamps: int
    credited: int
    customer_id: int | None
    order_ref: str | None
    voided: bool
    event_id: str
    at_us: int
    voided_us: int | None = None
    new: bool = False
    dirty: bool = False
    scope: str = ""  # ``order_scope``: the order id is unique within (branch, scope)

    @property
    def key(self) -> OrderKey:
        """Its key in ``Book.orders``."""
        return self.scope, self.order_id


@dataclass(slots=True)
class Qr:
    """A receipt QR of this branch, keyed by its order reference."""

    device_id: int
    order_ref: str
    order_id: str | None
    stamps: int
    expires_us: int
    state: str  # open | claimed | attached | cancelled
    customer_id: int | None
    issued_us: int | None
    claimed_us: int | None
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)  # not frozen: made once per credit, and frozen ones cost 4x
class Entry:
    """One line of the stamp ledger: ``delta`` stamps on a card."""

    customer_id: int
    delta: int
    kind: str  # order | qr_claim | attach | scan | void | reward
    order_id: str | None
    event_id: str | None
    device_id: int | None


@dataclass(slots=True)
class NewReward:
    """A reward issued by reaching the goal."""

    code: str
    customer_id: int
    kind: str  # gift | voucher
    name: str
    source: str  # goal | lottery
    issued_us: int
    valid_from_us: int
    expires_us: int | None
    device_id: int | None
    event_id: str | None = None
    pos_product: str | None = None  # the POS line as JSON (``PosProduct``), if the program has one
    order_id: str | None = None  # the check that reached the goal


@dataclass(slots=True)
class Caused:
    """What one applied event did to a card (the batch answer's ``effects``)."""

    card_code: str
    stamps: int = 0
    balance: int = 0
    rewards: list[NewReward] = field(default_factory=list)
    lottery: list[str] = field(default_factory=list)  # won | nothing, one per cycle


@dataclass(slots=True)
class HeldReward:
    """A reward a ``reward.redeemed`` event names, as the batch sees it."""

    code: str
    branch_id: int
    state: str  # issued | redeemed (expiry is read from the times, never stored)
    redeemed_by: int | None
    customer_id: int
    redeemed_us: int | None = None
    redeemed_order: str | None = None
    dirty: bool = False


@dataclass(slots=True)
class RedeemConflict:
    """A reward redeemed again by another till after its first redemption (both offline)."""

    code: str
    branch_id: int
    device_id: int | None
    event_id: str
    order_id: str | None


@dataclass(slots=True)
class Applied:
    """An event that joins the ledger, at position ``pos`` of its batch."""

    eid: str
    type: str
    device_time: str
    hash: str
    payload_json: str
    pos: int


@dataclass
class Book:
    """The rows one write transaction works on, and what it adds."""

    branch_id: int
    device_id: int | None
    program: ProgramConfig
    now: datetime
    rng: random.Random
    lottery_left: int | None = None
    cards: dict[int, Card] = field(default_factory=dict)
    orders: dict[OrderKey, Order] = field(default_factory=dict)
    foreign_orders: set[str] = field(default_factory=set)  # order ids of other branches
    # by (device, order reference): two agents of a branch may both print check 1001's QR
    qrs: dict[tuple[int, str], Qr] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=dict)  # event id -> payload hash
    entries: list[Entry] = field(default_factory=list)
    rewards: list[NewReward] = field(default_factory=list)
    caused: dict[str, Caused] = field(default_factory=dict)  # event id -> what it credited
    held_rewards: dict[str, HeldReward] = field(default_factory=dict)  # code -> reward
    conflicts: list[RedeemConflict] = field(default_factory=list)
    # the figures this transaction adds, per device (0: none) and counter (``TALLIES``)
    tallies: dict[int, list[int]] = field(default_factory=dict)
    new_code: Callable[[], str] = reward_rules.new_reward_code
    _index: dict[str, int] = field(default_factory=dict)  # "c:CODE" / "n:NUMBER" / "e:EMAIL"

    now_us: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.now_us = to_us(self.now)

    def count(self, figure: int, device_id: int | None, n: int = 1) -> None:
        """Add ``n`` to the device's ``figure`` (``ORDERS`` ...: an index into ``TALLIES``)."""
        row = self.tallies.get(device_id or 0)
        if row is None:
            row = self.tallies[device_id or 0] = [0] * len(TALLIES)
        row[figure] += n

    def add_card(self, card: Card) -> None:
        """Make ``card`` findable by id, code, number, email and phone."""
        self.cards[card.customer_id] = card
        self._index[f"c:{card.card_code}"] = card.customer_id
        self._index[f"n:{card.number}"] = card.customer_id
        if card.email:
            self._index[f"e:{card.email}"] = card.customer_id
        if card.phone:
            self._index[f"p:{card.phone}"] = card.customer_id

    def alias(self, key: str, customer_id: int) -> None:
        """Make the card ``customer_id`` findable by another reference key too (the code or
        number of a card merged into it)."""
        self._index[key] = customer_id

    def holds(self, key: str) -> bool:
        """Whether the card the reference key ``key`` names is in the book."""
        return key in self._index

    def find_order(self, order_id: str, till: str | None) -> Order | None:
        """This device's check ``order_id`` at ``till``. A void without a till (agents before
        #14 sent none) names the device's only check of that id, whatever its till."""
        order = self.orders.get((order_scope(self.device_id, till), order_id))
        if order is not None or till is not None or self.device_id is None:
            return order
        prefix = f"{self.device_id}/"
        found = [
            o for (s, oid), o in self.orders.items() if oid == order_id and s.startswith(prefix)
        ]
        return found[0] if len(found) == 1 else None

    def qr_of(self, order: Order) -> "Qr | None":
        """The receipt QR printed for ``order``, if it has one and it is in the book."""
        if order.order_ref is None or order.device_id is None:
            return None
        return self.qrs.get((order.device_id, order.order_ref))

    def order_of_qr(self, qr: "Qr") -> Order | None:
        """The check a receipt QR was printed for, if it is in the book."""
        if qr.order_id is None:
            return None
        for order in self.orders.values():
            if order.order_ref == qr.order_ref and order.device_id == qr.device_id:
                return order
        return None

    def find_card(self, key: str) -> Card:
        """The card the reference key ``key`` (``ref_key``) names; ``Rejected`` if none."""
        found = self._index.get(key)
        if found is not None:
            return self.cards[found]
        raise Rejected(_UNKNOWN.get(key[:2], "unknown card"))
