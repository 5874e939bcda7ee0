"""The ledger rules (pure): how events, claims and API stamps change cards, orders and QRs.

The storage adapter (``store/batch_io.py`` and ``store/ingest.py`` for batches,
``store/claims.py``) loads a ``Book`` (the rows a batch touches), runs these functions, and
writes back what they marked. Nothing here reads a clock, a socket or a database. The rules:

- An event id seen before with the same payload hash is ``duplicate`` (a success), with another
  hash ``rejected``; the cloud orders the ledger by its own receive time (``device_time`` is data).
- ``order.stamped``: credits the identified card; an unknown card or number is rejected, an
  unknown email has been enrolled as a new customer by the adapter.
- ``receipt_qr.issued``: records the claimable QR; if the phone claimed it before the event
  arrived, the order is recorded as already credited to that card (never credited twice).
- ``order.attached``: Autopilot credits the card; refused if the phone already claimed the QR,
  otherwise the QR becomes unclaimable.
- ``order.voided``: takes back what the check credited (``rewards.takeback``: never below zero in
  the current cycle); an unclaimed QR is cancelled; issued or redeemed rewards stay.
- ``scan.stamped``: credits the card.
- ``reward.redeemed`` (a till redeemed offline): the reward becomes redeemed; if it already was,
  by another till, the event is kept as a double redemption (``redeem_conflicts``), never
  counted as a second redemption; by the same till, it is that till's own redemption whose
  answer was lost, and changes nothing.

Each applied event that credited a card leaves what it caused in ``book.caused`` (stamps, the
balance after, rewards issued, lottery outcomes): the batch answer's ``effects``.
"""

from pydantic import BaseModel, ValidationError

from sync.cloud import rewards
from sync.cloud.book import (
    MAX_STAMPS_PER_EVENT,
    ORDERS,
    QR_CLAIMED,
    QR_ISSUED,
    REWARDS_ISSUED,
    REWARDS_REDEEMED,
    STAMPS,
    VOIDS,
    Applied,
    Book,
    Card,
    Caused,
    Entry,
    NewReward,
    Order,
    Qr,
    RedeemConflict,
    Rejected,
    order_refs,
    order_scope,
    to_us,
)
from sync.cloud.records import (
    AttachIn,
    Incoming,
    OrderIn,
    Record,
    RedeemIn,
    ScanIn,
    VoidIn,
    record_of,
)
from sync.contract.claim_token import ClaimToken
from sync.contract.events import (
    PAYLOAD_MODELS,
    Event,
    EventStatus,
    EventType,
    canonical_json,
    payload_hash_canonical,
)

Outcome = tuple[str, EventStatus, str | None]  # event id, status, reason


def credit(
    book: Book, card: Card, stamps: int, kind: str, order_id: str | None, eid: str | None
) -> list[NewReward]:
    """Add stamps; each full cycle issues the program's reward and consumes ``goal`` stamps.
    What an event (``eid``) caused is kept in ``book.caused``."""
    caused: Caused | None = None
    if eid is not None:
        caused = book.caused[eid] = Caused(card.card_code, max(stamps, 0), card.balance)
    if stamps <= 0:
        return []
    card.balance += stamps
    card.dirty = True
    book.entries.append(Entry(card.customer_id, stamps, kind, order_id, eid, book.device_id))
    book.count(STAMPS, book.device_id, stamps)
    goal = book.program.goal
    if 0 <= card.balance < goal:
        if caused is not None:
            caused.balance = card.balance
        return []  # no cycle completed (what ``rewards.settle`` says, without asking)
    rest, completed = rewards.settle(card.balance, goal)
    issued: list[NewReward] = []
    lottery = book.program.reward == "lottery"
    for _ in range(completed):
        book.entries.append(
            Entry(card.customer_id, -book.program.goal, "reward", order_id, eid, book.device_id)
        )
        grant = rewards.grant_for_goal(book.program, book.rng, book.lottery_left)
        if lottery and caused is not None:
            caused.lottery.append("nothing" if grant.kind == "nothing" else "won")
        if grant.kind == "nothing":
            continue
        if book.program.reward == "lottery" and book.lottery_left is not None:
            book.lottery_left -= 1
        if grant.kind == "voucher":
            valid_from, expires = rewards.voucher_window(book.program, book.now)
            window = (to_us(valid_from), None if expires is None else to_us(expires))
        else:
            window = (book.now_us, None)
        reward = NewReward(
            code=book.new_code(),
            customer_id=card.customer_id,
            kind=grant.kind,
            name=grant.name,
            source="lottery" if book.program.reward == "lottery" else "goal",
            issued_us=book.now_us,
            valid_from_us=window[0],
            expires_us=window[1],
            device_id=book.device_id,
            event_id=eid,
            pos_product=None if grant.pos_product is None else grant.pos_product.model_dump_json(),
            order_id=order_id,
        )
        issued.append(reward)
        book.count(REWARDS_ISSUED, book.device_id)
    card.balance = rest
    book.rewards.extend(issued)
    if caused is not None:
        caused.balance, caused.rewards = rest, issued
    return issued


def _new_order(book: Book, p: OrderIn, kind: str, eid: str) -> Order:
    scope = order_scope(book.device_id, p.till)
    if book.device_id is None:
        # the API channel and Poster's webhook (scope "") name checks by id alone: one of
        # theirs is any till's check of that id, as before #14 (Poster's own app sends the same
        # check through the agent too: it is counted once, whichever comes first)
        if any(oid == p.order_id for _, oid in book.orders):
            raise Rejected("order_id already recorded in this branch")
    elif ("", p.order_id) in book.orders:
        raise Rejected("order_id already recorded in this branch")
    if (scope, p.order_id) in book.orders:
        raise Rejected("order_id already recorded at this till")
    if p.stamps > MAX_STAMPS_PER_EVENT:
        raise Rejected("too many stamps for one order")
    book.count(ORDERS, book.device_id)  # nothing below refuses the event any more
    # order_id, device_id, kind, total, stamps, credited, customer_id, order_ref, voided,
    # event_id, at_us, voided_us, new
    return Order(p.order_id, book.device_id, kind, p.total, p.stamps, 0, None, None, False, eid,
                 book.now_us, None, True, scope=scope)  # fmt: skip


def _existing_order(book: Book, order_id: str, till: str | None) -> Order:
    order = book.find_order(order_id, till)
    if order is None:
        if order_id in book.foreign_orders:
            raise Rejected("the order belongs to another branch")
        raise Rejected("unknown order")
    return order


def _stamped(book: Book, p: OrderIn, eid: str) -> None:
    if p.customer is None:
        raise Rejected("order.stamped needs a customer")
    card = book.find_card(p.customer)
    order = _new_order(book, p, "stamped", eid)
    order.customer_id, order.credited = card.customer_id, p.stamps
    book.orders[order.key] = order
    credit(book, card, p.stamps, "order", p.order_id, eid)


def _qr_issued(book: Book, p: OrderIn, eid: str) -> None:
    if book.device_id is None:
        raise Rejected("only a device issues receipt QRs")
    refs = order_refs(p.order_id, p.till)
    ref = refs[0] if p.order_ref is None else p.order_ref.lower()
    if ref not in refs:  # refs[1:]: the form agents wrote before the till was part of it
        raise Rejected("order_ref does not match order_id")
    if p.claim_expires_us is None:
        raise Rejected("receipt_qr.issued needs claim_expires_at")
    order = _new_order(book, p, "qr", eid)
    order.order_ref = ref
    qr = book.qrs.get((book.device_id, ref))
    if qr is None:
        qr = Qr(book.device_id, ref, p.order_id, p.stamps, p.claim_expires_us, "open",
                None, book.now_us, None, new=True)  # fmt: skip
        book.qrs[book.device_id, ref] = qr
        book.count(QR_ISSUED, qr.device_id)
    else:  # the phone was first: the claim already credited the card
        if qr.issued_us is None:
            book.count(QR_ISSUED, qr.device_id)
        qr.order_id, qr.issued_us, qr.dirty = p.order_id, book.now_us, True
        if qr.state == "claimed":
            order.customer_id, order.credited = qr.customer_id, qr.stamps
    book.orders[order.key] = order


def _recorded(book: Book, p: OrderIn, eid: str) -> None:
    order = _new_order(book, p, "recorded", eid)
    book.orders[order.key] = order


def _attached(book: Book, p: AttachIn, eid: str) -> None:
    order = _existing_order(book, p.order_id, p.till)
    if order.voided:
        raise Rejected("the order was voided")
    qr = book.qr_of(order)
    if qr is not None and qr.state == "claimed":
        raise Rejected("already claimed")
    if order.customer_id is not None:
        raise Rejected("the order already has a customer")
    card = book.find_card(p.customer)
    if qr is not None and qr.state == "open":
        qr.state, qr.customer_id, qr.dirty = "attached", card.customer_id, True
    order.customer_id, order.credited, order.dirty = card.customer_id, order.stamps, True
    credit(book, card, order.stamps, "attach", order.order_id, eid)


def _voided(book: Book, p: VoidIn, eid: str) -> None:
    order = _existing_order(book, p.order_id, p.till)
    if order.voided:
        return  # a second void changes nothing
    order.voided, order.voided_us, order.dirty = True, book.now_us, True
    book.count(VOIDS, order.device_id)
    qr = book.qr_of(order)
    if qr is not None and qr.state == "open":
        qr.state, qr.dirty = "cancelled", True
    card = book.cards.get(order.customer_id) if order.customer_id is not None else None
    if card is not None and order.credited > 0:
        taken = rewards.takeback(order.credited, card.balance)
        if taken:
            card.balance -= taken
            card.dirty = True
            book.entries.append(
                Entry(card.customer_id, -taken, "void", order.order_id, eid, book.device_id)
            )


def _scan(book: Book, p: ScanIn, eid: str) -> None:
    if p.stamps > MAX_STAMPS_PER_EVENT:
        raise Rejected("too many stamps for one scan")
    card = book.find_card(p.customer)
    credit(book, card, p.stamps, "scan", None, eid)


def _redeemed(book: Book, p: RedeemIn, eid: str) -> None:
    held = book.held_rewards.get(p.code)
    if held is None:
        raise Rejected("unknown reward")
    if held.state == "redeemed":
        if held.redeemed_by is not None and held.redeemed_by == book.device_id:
            return  # this till's own redemption, its answer lost on the way: nothing new
        book.conflicts.append(
            RedeemConflict(p.code, held.branch_id, book.device_id, eid, p.order_id)
        )
        return
    held.state, held.redeemed_by, held.redeemed_us = "redeemed", book.device_id, book.now_us
    held.redeemed_order, held.dirty = p.order_id, True
    book.count(REWARDS_REDEEMED, book.device_id)
    card = book.cards.get(held.customer_id)
    if card is not None:
        card.dirty = True  # a new sync sequence number: the tills' caches drop the reward


def validated(event_type: str, payload: dict[str, object]) -> BaseModel:
    """The payload validated against its type's wire model; ``Rejected("malformed: ...")``."""
    try:
        model = PAYLOAD_MODELS[EventType(event_type)]
    except ValueError as err:
        raise Rejected(f"malformed: unknown event type {event_type!r}") from err
    try:
        return model.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Rejected(f"malformed: {where}: {first['msg']}".replace(": :", ":")) from err
    except ValueError as err:  # pragma: no cover - pydantic wraps validator errors
        raise Rejected(f"malformed: {err}") from err


def record_or_rejected(event_type: str, payload: dict[str, object]) -> Record | Rejected:
    """The event's record through its wire model, or why it is malformed."""
    try:
        return record_of(validated(event_type, payload))
    except Rejected as err:
        return err


def incoming(events: list[Event]) -> list[Incoming]:
    """Validated wire events as the ledger takes them (``intake.read_batch`` is the fast road
    to the same list)."""
    out = []
    for e in events:
        body = canonical_json(e.payload)
        out.append(
            Incoming(str(e.id), e.type, e.device_time.isoformat(), body,
                     payload_hash_canonical(e.type, body), record_or_rejected(e.type, e.payload))
        )  # fmt: skip
    return out


def apply_one(book: Book, event_type: str, record: Record, eid: str) -> None:
    """Apply one checked event to the book; ``Rejected`` leaves the book unchanged."""
    if isinstance(record, OrderIn):
        if event_type == EventType.ORDER_STAMPED:
            _stamped(book, record, eid)
        elif event_type == EventType.RECEIPT_QR_ISSUED:
            _qr_issued(book, record, eid)
        else:
            _recorded(book, record, eid)
    elif isinstance(record, ScanIn):
        _scan(book, record, eid)
    elif isinstance(record, AttachIn):
        _attached(book, record, eid)
    elif isinstance(record, RedeemIn):
        _redeemed(book, record, eid)
    else:
        _voided(book, record, eid)


def apply_batch(book: Book, items: list[Incoming]) -> tuple[list[Outcome], list[Applied]]:
    """Every event's outcome in the order sent, and the events that join the ledger."""
    outcomes: list[Outcome] = []
    applied: list[Applied] = []
    known = book.known
    for pos, item in enumerate(items):
        eid = item.eid
        seen = known.get(eid)
        if seen is not None:
            if seen == item.digest:
                outcomes.append((eid, EventStatus.DUPLICATE, None))
            else:
                outcomes.append((eid, EventStatus.REJECTED, _REUSED))
            continue
        record = item.record
        try:
            if isinstance(record, Rejected):
                raise record
            apply_one(book, item.type, record, eid)
        except Rejected as err:
            outcomes.append((eid, EventStatus.REJECTED, err.reason))
            continue
        known[eid] = item.digest
        applied.append(
            Applied(eid, item.type, item.device_time, item.digest, item.payload_json, pos)
        )
        outcomes.append((eid, EventStatus.APPLIED, None))
    return outcomes, applied


_REUSED = "the id was used before with another payload"


def claim_problem(qr: Qr | None, now_us: int) -> str | None:
    """Why a verified token's QR cannot be claimed now (``None``: it can)."""
    if qr is None:
        return None
    if qr.state in ("claimed", "attached"):
        return "already_claimed"
    if qr.state == "cancelled":
        return "voided"
    if now_us >= qr.expires_us:
        return "expired"
    return None


def claim(book: Book, token: ClaimToken, card: Card) -> tuple[int, list[NewReward]]:
    """Credit the QR's stamps to ``card``; the stamps added and rewards reached.

    Call after ``claim_problem`` said nothing; a QR never seen before (the agent's event not yet
    arrived) is recorded from the verified token so the later event finds it claimed.
    """
    qr = book.qrs.get((token.device_id, token.order_ref))
    if qr is None:
        qr = Qr(token.device_id, token.order_ref, None, token.stamps, to_us(token.expires_at),
                "open", None, None, None, new=True)  # fmt: skip
        book.qrs[token.device_id, token.order_ref] = qr
    qr.state, qr.customer_id, qr.claimed_us, qr.dirty = (
        "claimed",
        card.customer_id,
        book.now_us,
        True,
    )
    book.count(QR_CLAIMED, qr.device_id)
    order = book.order_of_qr(qr)
    if order is not None:
        order.customer_id, order.credited, order.dirty = card.customer_id, qr.stamps, True
    card.dirty = True  # a new card gets its sync sequence number in flush, even for 0 stamps
    issued = credit(book, card, qr.stamps, "qr_claim", qr.order_id, None)
    return qr.stamps, issued
