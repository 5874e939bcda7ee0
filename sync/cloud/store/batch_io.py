"""Reading what a batch of events needs into a ``Book``: which rows it names, the reads asked
together, the book made from their rows, and the few follow-up reads those rows lead to.

Split in steps so that the SQLite pipeline (``ingest.py``) can queue a batch's reads early and
work the rows later, and so that a big batch's pure step (``batch_book``) can run off the event
loop (``off_loop.py``) on either backend (``group_commit.apply_in``).
"""

import asyncio
import random
from dataclasses import dataclass
from datetime import datetime

from sync.cloud import ledger
from sync.cloud.book import Book
from sync.cloud.models import ProgramConfig
from sync.cloud.records import BatchKeys, Incoming
from sync.cloud.store import book_io
from sync.cloud.store.db import Params, Row, Tx
from sync.cloud.store.tenancy import Principal
from sync.contract.events import EventType


@dataclass(eq=False)
class BatchJob:
    """One request's batch of events, waiting for its outcomes (the SQLite pipeline's and the
    PostgreSQL group commit's jobs add what each needs)."""

    who: Principal
    items: list[Incoming]
    keys: BatchKeys
    now: datetime
    rng: random.Random
    fut: "asyncio.Future[list[ledger.Outcome]]"


def batch_queries(tx: Tx, business_id: int, branch_id: int, keys: BatchKeys) -> list[
    tuple[str, Params]
]:  # fmt: skip
    """The reads a batch asks together: the branch's program, the ids already in the ledger,
    the named orders, QRs and cards."""
    return [
        ("SELECT program FROM branches WHERE id = ?", (branch_id,)),
        (f"SELECT id, hash FROM events WHERE id {tx.in_text}", (tx.array(keys.event_ids),)),  # noqa: S608
        book_io.orders_query(tx, branch_id, keys.order_ids),
        book_io.qrs_query(tx, branch_id, keys.qr_refs),
        *book_io.card_queries(tx, business_id, keys.card_refs),
    ]


def batch_book(
    rows: list[list[Row]], *, branch_id: int, device_id: int | None, now: datetime,
    rng: random.Random,
) -> Book:  # fmt: skip
    """The book made from ``batch_queries``'s rows."""
    program_rows, known, orders, qrs, *cards = rows
    program = ProgramConfig.model_validate_json(program_rows[0][0])
    book = Book(branch_id=branch_id, device_id=device_id, program=program, now=now, rng=rng)
    book.known.update((row[0], row[1]) for row in known)
    book_io.add_orders(book, orders)
    book_io.add_qrs(book, qrs)
    for found in cards:
        for row in found:
            book_io.add_found(book, row)
    return book


async def complete_batch(tx: Tx, book: Book, business_id: int, keys: BatchKeys) -> None:
    """What the book's rows point at that was not asked for (the QRs of its orders, the cards
    that own them), whether another branch has the orders a void or attach names that this
    branch has not, the lottery's budget, and new customers for unknown emails on identified
    checks. Usually no query at all."""
    refs = {o.order_ref for o in book.orders.values() if o.order_ref}
    missing = refs - {ref for _, ref in book.qrs} - keys.qr_refs
    if missing:
        sql, args = book_io.qrs_query(tx, book.branch_id, missing)
        book_io.add_qrs(book, await tx.fetch(sql, *args))
    owners = [o.customer_id for o in book.orders.values() if o.customer_id is not None]
    await book_io.load_owners(tx, book, business_id, owners)
    await book_io.load_foreign(tx, book, business_id, keys.existing)
    book.lottery_left = await book_io.lottery_left(tx, book.branch_id, book.program)
    if keys.reward_codes:  # offline redemptions: read after earlier batches' writes
        await book_io.load_held_rewards(tx, book, business_id, keys.reward_codes)


async def enrol(
    tx: Tx, book: Book, business_id: int, items: list[Incoming], keys: BatchKeys
) -> None:
    """New customers for unknown emails and phones (E.164, as tills send them) on identified
    checks that are not re-sends."""
    if not any(ref.startswith(("e:", "p:+")) for ref in keys.card_refs):
        return  # no event names anyone by email or phone (the usual batch): nothing to look at
    known = {f"e:{c.email}" for c in book.cards.values() if c.email}
    known.update(f"p:{c.phone}" for c in book.cards.values() if c.phone)
    for item in items:
        if item.type != EventType.ORDER_STAMPED or item.eid in book.known:
            continue
        customer = getattr(item.record, "customer", None)
        if customer is None or not customer.startswith(("e:", "p:+")) or customer in known:
            continue
        email, phone = (customer[2:], None) if customer[0] == "e" else (None, customer[2:])
        book.add_card(
            await book_io.create_customer(
                tx, business_id, email=email, name=None, now_us=book.now_us, phone=phone
            )
        )
        known.add(customer)
