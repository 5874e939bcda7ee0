"""Customers, cards and rewards as the API shows them; look-up; redeeming a reward once."""

import asyncio
import json
from datetime import UTC, datetime

from sync.cloud import rewards
from sync.cloud.book import REWARDS_REDEEMED, TALLIES, Card, to_us
from sync.cloud.errors import Conflict, Gone, InvalidInput, NotFound
from sync.cloud.models import CustomerOut, RedeemOut, RewardOut
from sync.cloud.store.book_io import CARD_COLUMNS, TALLY_SQL, card_of, next_seq, tally_rows
from sync.cloud.store.db import Row, Tx
from sync.contract.card_code import CardCodeError, is_card_code, normalize_card_code
from sync.contract.customers import canonical_card, canonical_email
from sync.contract.phones import PhoneError, canonical_phone, looks_like_phone

REWARD_COLUMNS = (
    "code, business_id, branch_id, customer_id, kind, name, state, issued_us, valid_from_us, "
    "expires_us, redeemed_us, pos_product"
)
MAX_FOUND = 20
# Rows turned into answers on the event loop; more (a card that reached its goal thousands of
# times) go to a worker thread: 25,000 rewards held the loop 1.3 s (tests/sync/cloud/
# test_loop_hold.py, 2026-12-07, loaded machine, asyncio debug mode on).
OFF_LOOP_ROWS = 200


def from_us(us: int | None) -> datetime | None:
    """A stored time as an aware UTC datetime."""
    return None if us is None else datetime.fromtimestamp(us / 1_000_000, UTC)


def customer_out(card: Card, goal: int) -> CustomerOut:
    """A card as the API shows it."""
    return CustomerOut(
        customer_id=str(card.customer_id),
        card_code=card.card_code,
        number=card.number,
        email=card.email,
        name=card.name,
        phone=card.phone,
        balance=card.balance,
        goal=goal,
    )


def reward_out(row: Row, now: datetime) -> RewardOut:
    """A ``rewards`` row with its state as read at ``now``."""
    valid_from = from_us(row["valid_from_us"])
    expires = from_us(row["expires_us"])
    assert valid_from is not None
    return RewardOut(
        code=row["code"],
        kind=row["kind"],
        name=row["name"],
        state=rewards.reward_state(row["state"], valid_from, expires, now),
        branch_id=int(row["branch_id"]),
        issued_at=from_us(row["issued_us"]) or now,
        valid_from=valid_from,
        expires_at=expires,
        redeemed_at=from_us(row["redeemed_us"]),
        pos_product=None if row["pos_product"] is None else json.loads(row["pos_product"]),
    )


async def goal_of(tx: Tx, business_id: int, branch_id: int | None) -> int:
    """The goal cards are shown against: the branch's, or the business's first branch's."""
    from sync.cloud.models import ProgramConfig

    if branch_id is not None:
        text = await tx.fetchval("SELECT program FROM branches WHERE id = ?", branch_id)
    else:
        text = await tx.fetchval(
            "SELECT program FROM branches WHERE business_id = ? ORDER BY id LIMIT 1", business_id
        )
    return ProgramConfig.model_validate_json(text).goal if text else 10


async def email_taken(tx: Tx, business_id: int, email: str) -> bool:
    """True if a customer of the business already has this email."""
    found = await tx.fetchval(
        "SELECT 1 FROM customers WHERE business_id = ? AND email = ?",
        business_id,
        canonical_email(email),
    )
    return found is not None


async def phone_holder(tx: Tx, business_id: int, phone: str) -> int | None:
    """The id of the business's customer that has this phone (E.164), if any (a phone is
    unique in a business: ``customers_phone``)."""
    found = await tx.fetchval(
        "SELECT id FROM customers WHERE business_id = ? AND phone = ?", business_id, phone
    )
    return None if found is None else int(found)


async def country_of(tx: Tx, business_id: int) -> str | None:
    """The business's country (ISO 3166 alpha-2): the region its customers' phones are read
    in; None if it names none (phones then need their country code)."""
    country = await tx.fetchval("SELECT country FROM businesses WHERE id = ?", business_id)
    return str(country) if country else None


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find(tx: Tx, business_id: int, q: str) -> list[Card]:
    """Customers matching ``q``: card code, six-digit number, email, phone (as typed in the
    business's country), or part of a name."""
    text = q.strip()
    base = f"SELECT {CARD_COLUMNS} FROM customers WHERE business_id = ? AND "  # noqa: S608
    if is_card_code(text):
        rows = await tx.fetch(base + "card_code = ?", business_id, canonical_card(text))
    elif text.isdigit() and len(text) == 6:
        rows = await tx.fetch(base + "number = ?", business_id, text)
    elif looks_like_phone(text):
        try:
            phone = canonical_phone(text, await country_of(tx, business_id))
        except PhoneError:
            return []
        rows = await tx.fetch(base + "phone = ?", business_id, phone)
    elif "@" in text:
        rows = await tx.fetch(base + "email = ?", business_id, canonical_email(text))
    else:
        rows = await tx.fetch(
            base + "lower(name) LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
            business_id,
            _like(text),
            MAX_FOUND,
        )
    return [card_of(r) for r in rows]


async def card_by_code(tx: Tx, code: str, business_id: int | None = None) -> tuple[Card, int]:
    """The card with this code and its business; ``NotFound`` if none (in that business)."""
    try:
        canonical = normalize_card_code(code)
    except CardCodeError:
        raise NotFound("no card with this code", code="unknown_card", field="card_code") from None
    # a merged card's code leads to the card it was merged into (``merge.py``)
    row = await tx.fetchrow(
        "SELECT d.id, d.card_code, d.number, d.email, d.name, d.balance, d.phone, d.business_id "
        "FROM customers c JOIN customers d ON d.id = COALESCE(c.merged_into, c.id) "
        "WHERE c.card_code = ?",
        canonical,
    )
    if row is None or (business_id is not None and int(row["business_id"]) != business_id):
        raise NotFound("no card with this code", code="unknown_card", field="card_code")
    return card_of(row), int(row["business_id"])


async def rewards_of(tx: Tx, customer_id: int, now: datetime) -> list[RewardOut]:
    """The card's rewards, newest first."""
    rows = await tx.fetch(
        f"SELECT {REWARD_COLUMNS} FROM rewards WHERE customer_id = ? "  # noqa: S608
        "ORDER BY issued_us DESC, code",
        customer_id,
    )
    if len(rows) > OFF_LOOP_ROWS:  # a card that reached its goal thousands of times (#14)
        return await asyncio.to_thread(lambda: [reward_out(r, now) for r in rows])
    return [reward_out(r, now) for r in rows]


async def redeem(
    tx: Tx,
    business_id: int,
    code: str,
    now: datetime,
    device_id: int | None,
    order_id: str | None = None,
    branch_id: int | None = None,
) -> RedeemOut:
    """Redeem a reward exactly once (run inside ``Db.write(business_id)``); ``order_id``: the
    check it was handed over on; a device redeems only its own branch's rewards (``branch_id``),
    the admin key any of the business."""
    try:
        clean = rewards.normalize_reward_code(code)
    except ValueError as err:
        raise InvalidInput("not a reward code", field="code") from err
    row = await tx.fetchrow(
        f"SELECT {REWARD_COLUMNS} FROM rewards WHERE code = ? AND business_id = ?",  # noqa: S608
        clean,
        business_id,
    )
    if row is None or (branch_id is not None and int(row["branch_id"]) != branch_id):
        raise NotFound("no reward with this code", code="unknown_reward", field="code")
    state = reward_out(row, now).state
    if state == "redeemed":
        if device_id is not None and await _same_redeem(tx, clean, device_id, order_id):
            return await _redeem_out(tx, clean, int(row["customer_id"]), now)
        raise Conflict("this reward was already redeemed", code="already_redeemed", field="code")
    if state == "expired":
        raise Gone("this voucher has expired", code="expired", field="code")
    if state == "issued":
        starts = from_us(row["valid_from_us"])
        assert starts is not None
        raise Conflict(
            f"this voucher is not active yet: it is valid from {starts.isoformat()}",
            code="not_active",
            field="code",
            extra={"valid_from": starts.isoformat()},
        )
    at_us = to_us(now)
    await tx.execute(
        "UPDATE rewards SET state = 'redeemed', redeemed_us = ?, redeemed_by = ?, "
        "redeemed_order = ? WHERE code = ? AND state = 'issued'",
        at_us, device_id, order_id, clean,
    )  # fmt: skip
    # the card changes for the tills' caches: its open rewards lose this one
    seq = await next_seq(tx, business_id, 1)
    await tx.execute(
        "UPDATE customers SET updated_seq = ? WHERE id = ?", seq, int(row["customer_id"])
    )
    redeemed = [0] * len(TALLIES)
    redeemed[REWARDS_REDEEMED] = 1
    await tx.executemany(
        TALLY_SQL, tally_rows(int(row["branch_id"]), at_us, {device_id or 0: redeemed})
    )
    return await _redeem_out(tx, clean, int(row["customer_id"]), now)


async def _same_redeem(tx: Tx, code: str, device_id: int, order_id: str | None) -> bool:
    """True if the reward was redeemed by this till for this check (a till sending its redeem
    again after the answer was lost: it gets the same answer, nothing is counted again)."""
    row = await tx.fetchrow("SELECT redeemed_by, redeemed_order FROM rewards WHERE code = ?", code)
    return (
        row is not None
        and row["redeemed_by"] is not None
        and int(row["redeemed_by"]) == device_id
        and row["redeemed_order"] == order_id
    )


async def _redeem_out(tx: Tx, code: str, customer_id: int, now: datetime) -> RedeemOut:
    card = await tx.fetchrow("SELECT card_code FROM customers WHERE id = ?", customer_id)
    done = await tx.fetchrow(
        f"SELECT {REWARD_COLUMNS} FROM rewards WHERE code = ?",  # noqa: S608
        code,
    )
    assert card is not None and done is not None
    out = reward_out(done, now)
    return RedeemOut(**out.model_dump(), customer_id=str(customer_id), card_code=card["card_code"])
