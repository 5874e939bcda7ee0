"""Two cards of one person become one (staff with the admin key, or the customer after
verifying their email).

What moves: the balance (added, never re-counted: no stamp tally, no reward issued by the move),
the ledger entries, the rewards, the checks and receipt QRs the card was credited by (a later
void takes its stamps back from the merged card), claimed codes and Wallet passes (an old pass
shows the merged card from its next update). The old card's row stays as an alias
(``customers.merged_into``): its code, number and signed link lead to the merged card, at the
till too (``book_io.card_queries``); its email and phone move to the merged card if that has
none (else they are let go: an alias holding a phone kept the person from giving it again).
Consent is not moved: the merged card keeps its own choices (a merge never says yes for anyone).
The merge itself is a ledger event (``card.merged`` in ``events``) and a zero-stamp ledger
entry of kind ``merge`` on the merged card.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sync.cloud.errors import Conflict, NotFound
from sync.cloud.store.book_io import next_seq
from sync.cloud.store.db import Row, Tx
from sync.contract.card_code import CardCodeError, normalize_card_code

MERGED_EVENT = "card.merged"
# every table whose rows belong to a card and follow it into the merged card
_FOLLOW = ("entries", "rewards", "orders", "receipt_qrs", "voucher_codes", "wallet_passes")


@dataclass(frozen=True)
class Merged:
    """What a merge did."""

    card_code: str  # the card that remains
    merged: str  # the card merged into it (now an alias)
    customer_id: int
    stamps_moved: int
    rewards_moved: int
    balance: int
    event_id: str


async def _card(tx: Tx, business_id: int, code: str, field: str) -> Row:
    try:
        canonical = normalize_card_code(code)
    except CardCodeError:
        raise NotFound("no card with this code", code="unknown_card", field=field) from None
    row = await tx.fetchrow(
        "SELECT id, card_code, email, phone, name, balance, merged_into FROM customers "
        "WHERE business_id = ? AND card_code = ?",
        business_id, canonical,
    )  # fmt: skip
    if row is None:
        raise NotFound("no card with this code", code="unknown_card", field=field)
    return row


async def merge(tx: Tx, business_id: int, source: str, target: str, now_us: int, by: str) -> Merged:
    """Merge card ``source`` into card ``target`` (run inside ``Db.write(business_id)``);
    ``by``: ``staff`` or ``customer``. ``Conflict`` if they are one card or ``source`` was
    merged already; ``NotFound`` for a code the business has no card with."""
    src = await _card(tx, business_id, source, "card_code")
    dst = await _card(tx, business_id, target, "into")
    if dst["merged_into"] is not None:  # the target was merged itself: into where it went
        dst = await tx.fetchrow(
            "SELECT id, card_code, email, phone, name, balance, merged_into FROM customers "
            "WHERE id = ?",
            int(dst["merged_into"]),
        )
        assert dst is not None
    if src["merged_into"] is not None:
        raise Conflict("this card was merged already", code="already_merged", field="card_code")
    src_id, dst_id = int(src["id"]), int(dst["id"])
    if src_id == dst_id:
        raise Conflict("a card cannot be merged into itself", code="same_card", field="into")
    moved = int(src["balance"])
    rewards = int(await tx.fetchval("SELECT COUNT(*) FROM rewards WHERE customer_id = ?", src_id))
    seq = await next_seq(tx, business_id, 2)
    # the source lets go of its email and phone first: each is unique in the business
    await tx.execute(
        "UPDATE customers SET balance = 0, email = NULL, phone = NULL, merged_into = ?, "
        "updated_seq = ? WHERE id = ?",
        dst_id, seq, src_id,
    )  # fmt: skip
    await tx.execute(
        "UPDATE customers SET balance = balance + ?, email = COALESCE(email, ?), "
        "phone = COALESCE(phone, ?), name = COALESCE(name, ?), updated_seq = ? WHERE id = ?",
        moved, src["email"], src["phone"], src["name"], seq + 1, dst_id,
    )  # fmt: skip
    # cards merged into the source earlier now lead straight to the target
    await tx.execute("UPDATE customers SET merged_into = ? WHERE merged_into = ?", dst_id, src_id)
    for table in _FOLLOW:
        await tx.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id = ? "  # noqa: S608
            "AND business_id = ?",
            dst_id, src_id, business_id,
        )  # fmt: skip
    event_id = str(uuid.uuid4())
    payload = json.dumps(
        {"from": src["card_code"], "into": dst["card_code"], "stamps": moved,
         "rewards": rewards, "by": by},
        sort_keys=True,
    )  # fmt: skip
    branch_id = await tx.fetchval(
        "SELECT id FROM branches WHERE business_id = ? ORDER BY id LIMIT 1", business_id
    )
    await tx.execute(
        "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, payload, "
        "device_time, received_us, pos) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, 0)",
        event_id, business_id, int(branch_id or 0), MERGED_EVENT,
        hashlib.sha256(payload.encode()).hexdigest(), payload,
        datetime.fromtimestamp(now_us / 1e6, UTC).isoformat(), now_us,
    )  # fmt: skip
    await tx.execute(
        "INSERT INTO entries (business_id, branch_id, device_id, customer_id, delta, kind, "
        "order_id, event_id, at_us) VALUES (?, ?, NULL, ?, 0, 'merge', NULL, ?, ?)",
        business_id, int(branch_id or 0), dst_id, event_id, now_us,
    )  # fmt: skip
    return Merged(
        card_code=dst["card_code"], merged=src["card_code"], customer_id=dst_id,
        stamps_moved=moved, rewards_moved=rewards, balance=int(dst["balance"]) + moved,
        event_id=event_id,
    )  # fmt: skip
