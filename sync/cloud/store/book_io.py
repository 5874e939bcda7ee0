"""Loading a ``Book`` for one write transaction and writing back what the ledger rules marked."""

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.cloud.book import TALLIES, Applied, Book, Card, HeldReward, Order, Qr
from sync.cloud.models import ProgramConfig
from sync.cloud.store.db import Params, Row, Tx
from sync.contract.card_code import new_card_code
from sync.contract.customers import canonical_email

CARD_COLUMNS = "id, card_code, number, email, name, balance, phone"
ORDER_COLUMNS = (
    "branch_id, order_id, device_id, kind, total, stamps, credited, customer_id, order_ref, "
    "voided, event_id, at_us, voided_us, scope"
)
QR_COLUMNS = (
    "device_id, order_ref, order_id, stamps, expires_us, state, customer_id, issued_us, claimed_us"
)


# Rows are read by position (``CARD_COLUMNS`` ... first): the SQLite pipeline reads them as
# JSON arrays (``ingest._read``), a ``sqlite3.Row`` or an ``asyncpg.Record`` index alike.
def card_of(row: Row) -> Card:
    """A row starting with ``CARD_COLUMNS`` as a ``Card``."""
    return Card(int(row[0]), row[1], row[2], row[3], row[4], int(row[5]), phone=row[6])


NEXT_SEQ = "UPDATE counters SET card_seq = card_seq + ? WHERE business_id = ? RETURNING card_seq"


async def next_seq(tx: Tx, business_id: int, n: int) -> int:
    """Reserve ``n`` card sequence numbers of the business; the first of them."""
    last = await tx.fetchval(NEXT_SEQ, n, business_id)
    return int(last) - n + 1


async def create_customer(
    tx: Tx, business_id: int, *, email: str | None, name: str | None, now_us: int,
    dirty: bool = False, phone: str | None = None,
) -> Card:  # fmt: skip
    """A new customer with a fresh card code and a six-digit number unique in the business.

    ``dirty=True``: the caller credits the card in this transaction and ``flush`` gives it its
    sync sequence number then (one statement less on the claim path).
    """
    rng = random.SystemRandom()
    seq = 0 if dirty else await next_seq(tx, business_id, 1)
    email = canonical_email(email) if email else None
    while True:
        number = f"{rng.randrange(100_000, 1_000_000)}"
        code = new_card_code()
        new_id = await tx.fetchval(
            "INSERT INTO customers (business_id, card_code, number, email, name, balance, "
            "updated_seq, created_us) VALUES (?, ?, ?, ?, ?, 0, ?, ?) "
            "ON CONFLICT (business_id, number) DO NOTHING RETURNING id",
            business_id, code, number, email, name, seq, now_us,
        )  # fmt: skip
        if new_id is not None:  # else the number was taken: draw another
            if phone is not None:
                await tx.execute("UPDATE customers SET phone = ? WHERE id = ?", phone, new_id)
            return Card(int(new_id), code, number, email, name, 0, dirty=dirty, phone=phone)


def card_queries(tx: Tx, business_id: int, refs: Iterable[str]) -> list[tuple[str, Sequence[Any]]]:
    codes: set[str] = set()
    numbers: set[str] = set()
    emails: set[str] = set()
    phones: set[str] = set()
    sets = {"c": codes, "n": numbers, "e": emails, "p": phones}
    for key in refs:
        sets[key[0]].add(key[2:])
    wanted = [("card_code", codes), ("number", numbers), ("email", emails), ("phone", phones)]
    # a card merged into another (``merge.py``) is found as the card it went into, its own
    # code and number kept as aliases (``add_found``): an old keyring or pass still stamps
    return [
        (f"SELECT {CARD_COLUMNS}, alias_id, alias_code, alias_number FROM (SELECT "  # noqa: S608
         f"{_FOUND_COLUMNS} FROM customers c JOIN customers d "
         f"ON d.id = COALESCE(c.merged_into, c.id) WHERE c.business_id = ? "
         f"AND c.{column} {tx.in_text}) AS found", (business_id, tx.array(sorted(values))))
        for column, values in wanted if values
    ]  # fmt: skip


# plain names outside the sub-select: the SQLite pipeline reads them as JSON (``ingest.as_json``)
_FOUND_COLUMNS = (
    "d.id AS id, d.card_code AS card_code, d.number AS number, d.email AS email, "
    "d.name AS name, d.balance AS balance, c.id AS alias_id, c.card_code AS alias_code, "
    "c.number AS alias_number, d.phone AS phone"
)
_ALIAS_AT = len(CARD_COLUMNS.split(","))  # alias_id follows the card's own columns


def add_found(book: Book, row: Row) -> None:
    """Put a ``card_queries`` row's card in the book, findable by an alias it was asked by."""
    book.add_card(card_of(row))
    alias_id, alias_code, alias_number = row[_ALIAS_AT], row[_ALIAS_AT + 1], row[_ALIAS_AT + 2]
    if int(alias_id) != int(row[0]):
        book.alias(f"c:{alias_code}", int(row[0]))
        book.alias(f"n:{alias_number}", int(row[0]))


async def load_owners(tx: Tx, book: Book, business_id: int, ids: Iterable[int]) -> None:
    missing = sorted(set(ids) - set(book.cards))
    if missing:
        rows = await tx.fetch(
            f"SELECT {CARD_COLUMNS} FROM customers WHERE business_id = ? AND id {tx.in_int}",  # noqa: S608
            business_id, tx.array(missing),
        )  # fmt: skip
        for row in rows:
            book.add_card(card_of(row))


def _order(row: Row) -> Order:
    """A row of ``ORDER_COLUMNS`` as an ``Order``."""
    _, order_id, device_id, kind, total, stamps, credited, customer_id, order_ref, voided = row[:10]
    return Order(order_id, device_id, kind, total, int(stamps), int(credited), customer_id,
                 order_ref, bool(voided), row[10], int(row[11]), row[12],
                 scope=row[13])  # fmt: skip


def _qr(row: Row) -> Qr:
    """A row of ``QR_COLUMNS`` as a ``Qr``."""
    device_id, order_ref, order_id, stamps, expires_us, state, customer_id, issued, claimed = row
    return Qr(int(device_id), order_ref, order_id, int(stamps), int(expires_us), state,
              customer_id, issued, claimed)  # fmt: skip


def orders_query(tx: Tx, branch_id: int, order_ids: Iterable[str]) -> tuple[str, Params]:
    return (
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE branch_id = ? "  # noqa: S608
        f"AND order_id {tx.in_text}",
        (branch_id, tx.array(sorted(set(order_ids)))),
    )


async def load_foreign(tx: Tx, book: Book, business_id: int, order_ids: set[str]) -> None:
    """Which of ``order_ids`` (not of this branch) another branch of the business recorded:
    asked only for the ids a void or attach names and the branch does not have."""
    missing = sorted(order_ids - {order_id for _, order_id in book.orders})
    if missing:
        rows = await tx.fetch(
            f"SELECT order_id FROM orders WHERE order_id {tx.in_text} AND branch_id IN "  # noqa: S608
            "(SELECT id FROM branches WHERE business_id = ? AND id <> ?)",
            tx.array(missing), business_id, book.branch_id,
        )  # fmt: skip
        book.foreign_orders.update(row[0] for row in rows)


def qrs_query(tx: Tx, branch_id: int, refs: Iterable[str]) -> tuple[str, Params]:
    return (
        f"SELECT {QR_COLUMNS} FROM receipt_qrs WHERE branch_id = ? "  # noqa: S608
        f"AND order_ref {tx.in_text}",
        (branch_id, tx.array(sorted(set(refs)))),
    )


def add_orders(book: Book, rows: Iterable[Row]) -> None:
    for row in rows:
        order = _order(row)
        book.orders[order.key] = order


def add_qrs(book: Book, rows: Iterable[Row]) -> None:
    for row in rows:
        qr = _qr(row)
        book.qrs[qr.device_id, qr.order_ref] = qr


async def load_claims(
    tx: Tx, *, business_id: int, branch_id: int, now: datetime, rng: random.Random,
    qr_refs: list[str], card_refs: list[str],
) -> Book:  # fmt: skip
    """The book for a group of claims: the branch's program, the claimed QRs, their orders and
    the presented cards, asked together."""
    refs = tx.array(sorted(set(qr_refs)))
    queries = [
        ("SELECT program FROM branches WHERE id = ?", (branch_id,)),
        qrs_query(tx, branch_id, qr_refs),
        # a QR's order is of the QR's branch (``ledger._qr_issued``)
        (f"SELECT {ORDER_COLUMNS} FROM orders WHERE branch_id = ? AND order_id IN "  # noqa: S608
         f"(SELECT order_id FROM receipt_qrs WHERE branch_id = ? AND order_ref {tx.in_text} "
         "AND order_id IS NOT NULL)", (branch_id, branch_id, refs)),
        *card_queries(tx, business_id, card_refs),
    ]  # fmt: skip
    program_rows, qrs, orders, *cards = await tx.fetch_each(queries)
    program = ProgramConfig.model_validate_json(program_rows[0][0])
    book = Book(
        branch_id=branch_id, device_id=None, program=program, now=now, rng=rng,
        lottery_left=await lottery_left(tx, branch_id, program),
    )  # fmt: skip
    add_qrs(book, qrs)
    add_orders(book, orders)
    for rows in cards:
        for row in rows:
            add_found(book, row)
    return book


async def load_held_rewards(tx: Tx, book: Book, business_id: int, codes: set[str]) -> None:
    """The business's rewards that ``reward.redeemed`` events name."""
    rows = await tx.fetch(
        "SELECT code, branch_id, state, redeemed_by, customer_id FROM rewards "  # noqa: S608
        f"WHERE business_id = ? AND code {tx.in_text}",
        business_id, tx.array(sorted(codes)),
    )  # fmt: skip
    for r in rows:
        by = r[3]
        book.held_rewards[r[0]] = HeldReward(
            r[0], int(r[1]), r[2], None if by is None else int(by), int(r[4])
        )
    # their cards: a redemption changes what the tills' caches hold of them
    await load_owners(tx, book, business_id, [h.customer_id for h in book.held_rewards.values()])


async def lottery_left(tx: Tx, branch_id: int, program: ProgramConfig) -> int | None:
    """Lottery prizes the branch may still give (``None``: no cap)."""
    if program.reward != "lottery" or program.lottery_budget is None:
        return None
    given = await tx.fetchval(
        "SELECT COUNT(*) FROM rewards WHERE branch_id = ? AND source = 'lottery'", branch_id
    )
    return max(0, program.lottery_budget - int(given))


_INSERT_EVENT = (
    "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, payload, "
    "device_time, received_us, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
_INSERT_ORDER = (
    f"INSERT INTO orders (business_id, {ORDER_COLUMNS}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_ORDER = (
    "UPDATE orders SET credited = ?, customer_id = ?, voided = ?, voided_us = ? "
    "WHERE branch_id = ? AND order_id = ? AND scope = ?"
)
_INSERT_QR = (
    f"INSERT INTO receipt_qrs (business_id, branch_id, {QR_COLUMNS}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_QR = (
    "UPDATE receipt_qrs SET order_id = ?, state = ?, customer_id = ?, issued_us = ?, "
    "claimed_us = ? WHERE branch_id = ? AND order_ref = ? AND device_id = ?"
)
_INSERT_ENTRY = (
    "INSERT INTO entries (business_id, branch_id, device_id, customer_id, delta, kind, "
    "order_id, event_id, at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
TALLY_SQL = (
    f"INSERT INTO tallies (branch_id, second_us, device_id, {', '.join(TALLIES)}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (branch_id, second_us, device_id) DO UPDATE "
    f"SET {', '.join(f'{n} = tallies.{n} + excluded.{n}' for n in TALLIES)}"
)
UPDATE_CARD = "UPDATE customers SET balance = ?, updated_seq = ? WHERE id = ?"
_INSERT_REWARD = (
    "INSERT INTO rewards (code, business_id, branch_id, device_id, customer_id, kind, name, "
    "source, state, issued_us, valid_from_us, expires_us, event_id, pos_product, order_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'issued', ?, ?, ?, ?, ?, ?)"
)
_REDEEMED = (
    "UPDATE rewards SET state = 'redeemed', redeemed_us = ?, redeemed_by = ?, "
    "redeemed_order = ? WHERE code = ? AND state = 'issued'"
)
_INSERT_CONFLICT = (
    "INSERT INTO redeem_conflicts (business_id, branch_id, device_id, code, event_id, order_id, "
    "at_us) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def tally_rows(branch_id: int, at_us: int, tallies: dict[int, list[int]]) -> list[Params]:
    """``TALLY_SQL`` rows for figures counted at ``at_us``: by the whole second (a day starts on a
    whole second in every time zone, so ``/v1/stats`` counts each second in the right day)."""
    second = at_us // 1_000_000 * 1_000_000
    return [(branch_id, second, device, *counts) for device, counts in sorted(tallies.items())]


@dataclass(frozen=True, slots=True)
class FlushPlan:
    """What a book writes: rows per statement, and the dirty cards' ``(balance, id)`` in the
    order they take the business's next card sequence numbers."""

    business_id: int
    writes: list[tuple[str, list[Params]]]
    cards: list[tuple[int, int]]

    def card_rows(self, last_seq: int) -> list[Params]:
        """``UPDATE_CARD`` rows once the numbers up to ``last_seq`` are reserved."""
        first = last_seq - len(self.cards) + 1
        return [(balance, first + i, cid) for i, (balance, cid) in enumerate(self.cards)]


def flush_plan(book: Book, business_id: int, applied: Sequence[Applied] = ()) -> FlushPlan:
    """The book's changes as rows: ledger events, orders, QRs, entries, rewards, figures and
    card balances."""
    now_us, branch, device = book.now_us, book.branch_id, book.device_id
    orders = book.orders.values()
    qrs = book.qrs.values()
    writes: list[tuple[str, list[Params]]] = [
        (_INSERT_EVENT, [
            (a.eid, business_id, branch, device, a.type, a.hash, a.payload_json, a.device_time,
             now_us, a.pos)
            for a in applied
        ]),
        (_INSERT_ORDER, [
            (business_id, branch, o.order_id, o.device_id, o.kind, o.total, o.stamps,
             o.credited, o.customer_id, o.order_ref, int(o.voided), o.event_id, o.at_us,
             o.voided_us, o.scope)
            for o in orders if o.new
        ]),
        (_UPDATE_ORDER, [
            (o.credited, o.customer_id, int(o.voided), o.voided_us, branch, o.order_id, o.scope)
            for o in orders if o.dirty and not o.new
        ]),
        (_INSERT_QR, [
            (business_id, branch, q.device_id, q.order_ref, q.order_id, q.stamps, q.expires_us,
             q.state, q.customer_id, q.issued_us, q.claimed_us)
            for q in qrs if q.new
        ]),
        (_UPDATE_QR, [
            (q.order_id, q.state, q.customer_id, q.issued_us, q.claimed_us, branch, q.order_ref,
             q.device_id)
            for q in qrs if q.dirty and not q.new
        ]),
        (_INSERT_ENTRY, [
            (business_id, branch, e.device_id, e.customer_id, e.delta, e.kind, e.order_id,
             e.event_id, now_us)
            for e in book.entries
        ]),
        (_INSERT_REWARD, [
            (r.code, business_id, branch, r.device_id, r.customer_id, r.kind, r.name, r.source,
             r.issued_us, r.valid_from_us, r.expires_us, r.event_id, r.pos_product, r.order_id)
            for r in book.rewards
        ]),
        (_REDEEMED, [
            (h.redeemed_us, h.redeemed_by, h.redeemed_order, h.code)
            for h in book.held_rewards.values() if h.dirty
        ]),
        (_INSERT_CONFLICT, [
            (business_id, c.branch_id, c.device_id, c.code, c.event_id, c.order_id, now_us)
            for c in book.conflicts
        ]),
        (TALLY_SQL, tally_rows(branch, now_us, book.tallies)),
    ]  # fmt: skip
    cards = [(c.balance, c.customer_id) for c in book.cards.values() if c.dirty]
    return FlushPlan(business_id, [(sql, rows) for sql, rows in writes if rows], cards)


async def flush(tx: Tx, book: Book, business_id: int, applied: Sequence[Applied] = ()) -> None:
    """Write the book's changes (``flush_plan``)."""
    await write_plan(tx, flush_plan(book, business_id, applied))


async def write_plan(tx: Tx, plan: FlushPlan) -> None:
    """Write a ``flush_plan``'s rows."""
    business_id = plan.business_id
    # the dirty cards' sync sequence numbers (the next ones of the business) come back with
    # the writes; a second UPDATE of the same rows would cost PostgreSQL new row versions
    reserve = [(NEXT_SEQ, (len(plan.cards), business_id))] if plan.cards else []
    got = await tx.pipeline(reserve, plan.writes)
    if plan.cards:
        await tx.executemany(UPDATE_CARD, plan.card_rows(int(got[0][0][0])))
