"""Loading a ``Book`` for one write transaction and writing back what the ledger rules marked."""

import random
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from drivers.card_code import new_card_code
from sync.cloud.book import Applied, Book, Card, Order, Qr
from sync.cloud.models import ProgramConfig
from sync.cloud.store.db import Params, Row, Tx

CARD_COLUMNS = "id, card_code, number, email, name, balance"
ORDER_COLUMNS = (
    "branch_id, order_id, device_id, kind, total, stamps, credited, customer_id, order_ref, "
    "voided, event_id, at_us, voided_us"
)
QR_COLUMNS = (
    "device_id, order_ref, order_id, stamps, expires_us, state, customer_id, issued_us, claimed_us"
)


def card_of(row: Row) -> Card:
    """A ``customers`` row as a ``Card``."""
    return Card(
        int(row["id"]), row["card_code"], row["number"], row["email"], row["name"],
        int(row["balance"]),
    )  # fmt: skip


async def program_of(tx: Tx, branch_id: int) -> ProgramConfig:
    """The branch's program."""
    text = await tx.fetchval("SELECT program FROM branches WHERE id = ?", branch_id)
    return ProgramConfig.model_validate_json(text)


_NEXT_SEQ = "UPDATE counters SET card_seq = card_seq + ? WHERE business_id = ? RETURNING card_seq"


async def next_seq(tx: Tx, business_id: int, n: int) -> int:
    """Reserve ``n`` card sequence numbers of the business; the first of them."""
    last = await tx.fetchval(_NEXT_SEQ, n, business_id)
    return int(last) - n + 1


async def create_customer(
    tx: Tx, business_id: int, *, email: str | None, name: str | None, now_us: int,
    dirty: bool = False,
) -> Card:  # fmt: skip
    """A new customer with a fresh card code and a six-digit number unique in the business.

    ``dirty=True``: the caller credits the card in this transaction and ``flush`` gives it its
    sync sequence number then (one statement less on the claim path).
    """
    rng = random.SystemRandom()
    seq = 0 if dirty else await next_seq(tx, business_id, 1)
    email = email.strip().lower() if email else None
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
            return Card(int(new_id), code, number, email, name, 0, dirty=dirty)


def _card_queries(tx: Tx, business_id: int, refs: Iterable[str]) -> list[tuple[str, Sequence[Any]]]:
    codes: set[str] = set()
    numbers: set[str] = set()
    emails: set[str] = set()
    sets = {"c": codes, "n": numbers, "e": emails}
    for key in refs:
        sets[key[0]].add(key[2:])
    wanted = [("card_code", codes), ("number", numbers), ("email", emails)]
    return [
        (f"SELECT {CARD_COLUMNS} FROM customers WHERE business_id = ? "  # noqa: S608
         f"AND {column} {tx.in_text}", (business_id, tx.array(sorted(values))))
        for column, values in wanted if values
    ]  # fmt: skip


async def _load_owners(tx: Tx, book: Book, business_id: int, ids: Iterable[int]) -> None:
    missing = sorted(set(ids) - set(book.cards))
    if missing:
        rows = await tx.fetch(
            f"SELECT {CARD_COLUMNS} FROM customers WHERE business_id = ? AND id {tx.in_int}",  # noqa: S608
            business_id, tx.array(missing),
        )  # fmt: skip
        for row in rows:
            book.add_card(card_of(row))


async def load_cards(
    tx: Tx, book: Book, business_id: int, refs: Iterable[str], ids: Iterable[int] = ()
) -> None:
    """Put the cards named by the reference keys ``refs`` (``ref_key``) and ``ids`` into the
    book."""
    for rows in await tx.fetch_each(_card_queries(tx, business_id, refs)):
        for row in rows:
            book.add_card(card_of(row))
    await _load_owners(tx, book, business_id, ids)


def _order(row: Row) -> Order:
    return Order(
        order_id=row["order_id"], device_id=row["device_id"], kind=row["kind"],
        total=row["total"], stamps=int(row["stamps"]), credited=int(row["credited"]),
        customer_id=row["customer_id"], order_ref=row["order_ref"], voided=bool(row["voided"]),
        event_id=row["event_id"], at_us=int(row["at_us"]), voided_us=row["voided_us"],
    )  # fmt: skip


def _qr(row: Row) -> Qr:
    return Qr(
        device_id=int(row["device_id"]), order_ref=row["order_ref"], order_id=row["order_id"],
        stamps=int(row["stamps"]), expires_us=int(row["expires_us"]), state=row["state"],
        customer_id=row["customer_id"], issued_us=row["issued_us"], claimed_us=row["claimed_us"],
    )  # fmt: skip


def _orders_query(tx: Tx, business_id: int, order_ids: Iterable[str]) -> tuple[str, Params]:
    return (
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE business_id = ? "  # noqa: S608
        f"AND order_id {tx.in_text}",
        (business_id, tx.array(sorted(set(order_ids)))),
    )


def _qrs_query(tx: Tx, branch_id: int, refs: Iterable[str]) -> tuple[str, Params]:
    return (
        f"SELECT {QR_COLUMNS} FROM receipt_qrs WHERE branch_id = ? "  # noqa: S608
        f"AND order_ref {tx.in_text}",
        (branch_id, tx.array(sorted(set(refs)))),
    )


def _add_orders(book: Book, rows: Iterable[Row]) -> None:
    for row in rows:
        if int(row["branch_id"]) == book.branch_id:
            book.orders[row["order_id"]] = _order(row)
        else:
            book.foreign_orders.add(row["order_id"])


def _add_qrs(book: Book, rows: Iterable[Row]) -> None:
    for row in rows:
        book.qrs[row["order_ref"]] = _qr(row)


async def load_orders(
    tx: Tx, book: Book, business_id: int, order_ids: Iterable[str], refs: Iterable[str]
) -> None:
    """Put the named orders of the branch (and their receipt QRs) into the book."""
    wanted = set(order_ids)
    if wanted:
        sql, args = _orders_query(tx, business_id, wanted)
        _add_orders(book, await tx.fetch(sql, *args))
    all_refs = set(refs) | {o.order_ref for o in book.orders.values() if o.order_ref}
    if all_refs:
        sql, args = _qrs_query(tx, book.branch_id, all_refs)
        _add_qrs(book, await tx.fetch(sql, *args))


async def load_batch(
    tx: Tx, *, business_id: int, branch_id: int, device_id: int | None, now: datetime,
    rng: random.Random, event_ids: list[str], order_ids: set[str], qr_refs: set[str],
    card_refs: list[str],
) -> Book:  # fmt: skip
    """The book for a batch: the branch's program, the ids already in the ledger, the named
    orders, QRs (by reference: ``qr_refs`` should hold those of the orders too) and cards,
    asked together, then whatever those rows point at that was not asked for."""
    queries = [
        ("SELECT program FROM branches WHERE id = ?", (branch_id,)),
        (f"SELECT id, hash FROM events WHERE id {tx.in_text}", (tx.array(event_ids),)),  # noqa: S608
        _orders_query(tx, business_id, order_ids),
        _qrs_query(tx, branch_id, qr_refs),
        *_card_queries(tx, business_id, card_refs),
    ]
    program_rows, known, orders, qrs, *cards = await tx.fetch_each(queries)
    program = ProgramConfig.model_validate_json(program_rows[0][0])
    book = Book(
        branch_id=branch_id, device_id=device_id, program=program, now=now, rng=rng,
        lottery_left=await lottery_left(tx, branch_id, program),
    )  # fmt: skip
    book.known.update((row[0], row[1]) for row in known)
    _add_orders(book, orders)
    _add_qrs(book, qrs)
    for rows in cards:
        for row in rows:
            book.add_card(card_of(row))
    missing = {o.order_ref for o in book.orders.values() if o.order_ref} - qr_refs
    if missing:
        sql, args = _qrs_query(tx, branch_id, missing)
        _add_qrs(book, await tx.fetch(sql, *args))
    owners = [o.customer_id for o in book.orders.values() if o.customer_id is not None]
    await _load_owners(tx, book, business_id, owners)
    return book


async def load_claims(
    tx: Tx, *, business_id: int, branch_id: int, now: datetime, rng: random.Random,
    qr_refs: list[str], card_refs: list[str],
) -> Book:  # fmt: skip
    """The book for a group of claims: the branch's program, the claimed QRs, their orders and
    the presented cards, asked together."""
    refs = tx.array(sorted(set(qr_refs)))
    queries = [
        ("SELECT program FROM branches WHERE id = ?", (branch_id,)),
        _qrs_query(tx, branch_id, qr_refs),
        (f"SELECT {ORDER_COLUMNS} FROM orders WHERE business_id = ? AND order_id IN "  # noqa: S608
         f"(SELECT order_id FROM receipt_qrs WHERE branch_id = ? AND order_ref {tx.in_text} "
         "AND order_id IS NOT NULL)", (business_id, branch_id, refs)),
        *_card_queries(tx, business_id, card_refs),
    ]  # fmt: skip
    program_rows, qrs, orders, *cards = await tx.fetch_each(queries)
    program = ProgramConfig.model_validate_json(program_rows[0][0])
    book = Book(
        branch_id=branch_id, device_id=None, program=program, now=now, rng=rng,
        lottery_left=await lottery_left(tx, branch_id, program),
    )  # fmt: skip
    _add_qrs(book, qrs)
    _add_orders(book, orders)
    for rows in cards:
        for row in rows:
            book.add_card(card_of(row))
    return book


async def lottery_left(tx: Tx, branch_id: int, program: ProgramConfig) -> int | None:
    """Lottery prizes the branch may still give (``None``: no cap)."""
    if program.reward != "lottery" or program.lottery_budget is None:
        return None
    given = await tx.fetchval(
        "SELECT COUNT(*) FROM rewards WHERE branch_id = ? AND source = 'lottery'", branch_id
    )
    return max(0, program.lottery_budget - int(given))


async def new_book(
    tx: Tx,
    *,
    branch_id: int,
    device_id: int | None,
    now: datetime,
    rng: random.Random,
) -> Book:
    """An empty book for the branch with its program and lottery budget."""
    program = await program_of(tx, branch_id)
    return Book(
        branch_id=branch_id,
        device_id=device_id,
        program=program,
        now=now,
        rng=rng,
        lottery_left=await lottery_left(tx, branch_id, program),
    )


_INSERT_EVENT = (
    "INSERT INTO events (id, business_id, branch_id, device_id, type, hash, payload, "
    "device_time, received_us, pos) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
_INSERT_ORDER = (
    f"INSERT INTO orders (business_id, {ORDER_COLUMNS}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_ORDER = (
    "UPDATE orders SET credited = ?, customer_id = ?, voided = ?, voided_us = ? "
    "WHERE branch_id = ? AND order_id = ?"
)
_INSERT_QR = (
    f"INSERT INTO receipt_qrs (business_id, branch_id, {QR_COLUMNS}) "  # noqa: S608
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_QR = (
    "UPDATE receipt_qrs SET order_id = ?, state = ?, customer_id = ?, issued_us = ?, "
    "claimed_us = ? WHERE device_id = ? AND order_ref = ?"
)
_INSERT_ENTRY = (
    "INSERT INTO entries (business_id, branch_id, device_id, customer_id, delta, kind, "
    "order_id, event_id, at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_CARD = "UPDATE customers SET balance = ?, updated_seq = ? WHERE id = ?"
_INSERT_REWARD = (
    "INSERT INTO rewards (code, business_id, branch_id, device_id, customer_id, kind, name, "
    "source, state, issued_us, valid_from_us, expires_us, event_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'issued', ?, ?, ?, ?)"
)


async def flush(tx: Tx, book: Book, business_id: int, applied: Sequence[Applied] = ()) -> None:
    """Write the book's changes: ledger events, orders, QRs, entries, rewards, card balances."""
    now_us, branch, device = book.now_us, book.branch_id, book.device_id
    orders = book.orders.values()
    qrs = book.qrs.values()
    dirty = [c for c in book.cards.values() if c.dirty]
    # the dirty cards' sync sequence numbers (the next ones of the business) come back with
    # the writes; a second UPDATE of the same rows would cost PostgreSQL new row versions
    reserve = [(_NEXT_SEQ, (len(dirty), business_id))] if dirty else []
    got = await tx.pipeline(reserve, [
        (_INSERT_EVENT, [
            (a.eid, business_id, branch, device, a.type, a.hash, a.payload_json, a.device_time,
             now_us, a.pos)
            for a in applied
        ]),
        (_INSERT_ORDER, [
            (business_id, branch, o.order_id, o.device_id, o.kind, o.total, o.stamps,
             o.credited, o.customer_id, o.order_ref, int(o.voided), o.event_id, o.at_us,
             o.voided_us)
            for o in orders if o.new
        ]),
        (_UPDATE_ORDER, [
            (o.credited, o.customer_id, int(o.voided), o.voided_us, branch, o.order_id)
            for o in orders if o.dirty and not o.new
        ]),
        (_INSERT_QR, [
            (business_id, branch, q.device_id, q.order_ref, q.order_id, q.stamps, q.expires_us,
             q.state, q.customer_id, q.issued_us, q.claimed_us)
            for q in qrs if q.new
        ]),
        (_UPDATE_QR, [
            (q.order_id, q.state, q.customer_id, q.issued_us, q.claimed_us, q.device_id,
             q.order_ref)
            for q in qrs if q.dirty and not q.new
        ]),
        (_INSERT_ENTRY, [
            (business_id, branch, e.device_id, e.customer_id, e.delta, e.kind, e.order_id,
             e.event_id, now_us)
            for e in book.entries
        ]),
        (_INSERT_REWARD, [
            (r.code, business_id, branch, r.device_id, r.customer_id, r.kind, r.name, r.source,
             r.issued_us, r.valid_from_us, r.expires_us, r.event_id)
            for r in book.rewards
        ]),
    ])  # fmt: skip
    if dirty:
        first = int(got[0][0][0]) - len(dirty) + 1
        await tx.executemany(
            _UPDATE_CARD, [(c.balance, first + i, c.customer_id) for i, c in enumerate(dirty)]
        )
