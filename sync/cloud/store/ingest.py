"""Event batches on SQLite: applied one after another, in arrival order, while the writer's
thread works on the previous batch's writes.

A batch's work alternates between the writer's thread (its reads, later its writes and the
commit) and the event loop (building its book and applying the ledger rules). Done one batch
at a time, each side waits for the other: the loop sits idle during the SQL and the database
during the Python, so a two-core machine runs about one core's worth. Here the next batch's
reads are queued *before* this batch's writes, and the loop applies the next batch while the
writer's thread still writes this one:

    writer thread:  read 1 | read 2 | write 1  | read 3 | write 2  | commit 1-2 ...
    event loop:            | apply 1| apply 2 (carried over from 1) | apply 3 ...

The next batch's rows were read before this batch's writes, so whatever this batch changed is
carried over into it from this batch's book (``carry_over``): the ids it added to the ledger,
the cards it credited or enrolled, its branch's orders and QRs. Everything else the next batch
reads later (the follow-up reads of ``batch_io.complete_batch``, new customers) is queued after
this batch's writes and sees them. So each batch sees exactly what it would see one after
another: the same outcomes, rows and figures (``tests/cloud/test_ingest_pipeline.py``).

A big batch's CPU steps (its book with the carry-over, then the ledger rules and the rows to
write) run on the store's ledger thread (``off_loop.py``), awaited here one at a time: the
order above is unchanged, and the loop serves other requests meanwhile.

A group of batches commits together (one fsync); their answers go out when that commit is on
disk. A step that fails breaks the pipeline (``sqlite.Pipeline``): nothing queued after it
commits, and every batch not yet committed fails and is sent again by its agent.
"""

import asyncio
import random
import re
import sqlite3
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache, partial

import orjson

from sync.cloud import ledger
from sync.cloud.book import Book, Card, Caused
from sync.cloud.records import BatchKeys, Incoming, batch_keys
from sync.cloud.store import batch_io, book_io
from sync.cloud.store.db import Params, Row
from sync.cloud.store.off_loop import OffLoop, apply_and_plan
from sync.cloud.store.sqlite import Pipeline, SqliteDb
from sync.cloud.store.sqlite_thread import write_many
from sync.cloud.store.tenancy import Principal

# Batches per commit: answers go out in pairs, and the next pair's Python overlaps the fsync.
GROUP = 2
MAX_RUN = 64  # batches before the writer is handed to others waiting for it


@dataclass(eq=False)
class Job(batch_io.BatchJob):
    """One batch in the pipeline."""

    rows: "asyncio.Future[list[list[Row]]] | None" = None
    after: "Job | None" = None  # read before this job's writes were queued: carry over from it
    book: Book | None = None
    outcomes: list[ledger.Outcome] = field(default_factory=list)
    committing: bool = False
    caused: "dict[str, Caused] | None" = None  # filled with what the events caused, if given

    @property
    def business_id(self) -> int:
        return self.who.business_id


class BatchPipeline:
    """Applies batches through ``SqliteDb.pipeline``; ``submit`` answers each batch."""

    def __init__(self, db: SqliteDb, off: OffLoop | None = None) -> None:
        self._db = db
        self._off = off or OffLoop()
        self._queue: deque[Job] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._arrival: asyncio.Future[None] | None = None  # set when a batch is submitted

    async def submit(
        self,
        who: Principal,
        items: list[Incoming],
        now: datetime,
        rng: random.Random,
        keys: BatchKeys | None = None,
        caused: "dict[str, Caused] | None" = None,
    ) -> list[ledger.Outcome]:
        """Apply the batch (after those submitted before it); each event's outcome.
        ``keys``: ``batch_keys(items)``, if already worked out (by the batch reader);
        ``caused``: filled with what each applied event credited."""
        loop = asyncio.get_running_loop()
        job = Job(who, items, keys or batch_keys(items), now, rng, loop.create_future())
        job.caused = caused
        self._queue.append(job)
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await asyncio.shield(job.fut)

    @property
    def waiting(self) -> int:
        """Batches submitted and not yet taken into a transaction."""
        return len(self._queue)

    async def close(self) -> None:
        """Wait until the batches already submitted are applied (or have failed)."""
        if self._worker is not None:
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _drain(self) -> None:
        while self._queue:
            taken: list[Job] = []
            try:
                async with self._db.pipeline() as pipe:
                    await self._run(pipe, taken)
            except BaseException as err:
                for job in taken:
                    if not job.committing and not job.fut.done():
                        job.fut.set_exception(err)
                if isinstance(err, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise

    def _may_take(self, taken: list[Job]) -> bool:
        """A batch waits, and this run may go on: nobody else waits for the writer (they get
        it when this run ends) and the run is not long enough yet."""
        return bool(self._queue) and not (taken and (self._db.waiting or len(taken) >= MAX_RUN))

    def _take(self, pipe: Pipeline, taken: list[Job], after: "Job | None") -> "Job | None":
        """The next waiting batch (if ``_may_take``), its reads queued now."""
        if not self._may_take(taken):
            return None
        job = self._queue.popleft()
        taken.append(job)
        keys = job.keys
        if after is not None and after.book is not None and after.business_id == job.business_id:
            # cards the previous batch holds come over from it (``carry_over``): not read again
            held = after.book.holds
            keys = replace(keys, card_refs=[r for r in keys.card_refs if not held(r)])
        queries = batch_io.batch_queries(pipe.tx, job.business_id, _branch(job), keys)
        job.rows = pipe.submit(partial(_read, queries))
        job.after = after
        return job

    async def _run(self, pipe: Pipeline, taken: list[Job]) -> None:
        group: list[Job] = []
        job = self._take(pipe, taken, None)
        while job is not None:
            assert job.rows is not None
            rows = await job.rows
            # the CPU steps of a big batch run on the ledger thread (``off_loop.py``); this
            # task awaits each, so nothing here touches the book meanwhile
            events = len(job.items)
            book = job.book = await self._off.run(events, _book_of, job, rows)
            nxt = self._take(pipe, taken, job)  # its reads go before this job's writes
            await batch_io.complete_batch(pipe.tx, book, job.business_id, job.keys)
            await batch_io.enrol(pipe.tx, book, job.business_id, job.items, job.keys)
            job.outcomes, _, plan = await self._off.run(
                events, apply_and_plan, book, job.items, job.business_id
            )
            if job.caused is not None:
                job.caused.update(book.caused)
            pipe.submit(partial(_write, plan))
            group.append(job)
            if nxt is None:
                nxt = self._take(pipe, taken, None)  # its reads go after this job's writes
            if nxt is None or len(group) >= GROUP:
                for member in group:
                    member.committing = True
                done = pipe.commit(reopen=nxt is not None)
                done.add_done_callback(partial(_answer, group))
                group = []
                if nxt is None and await self._arrives_before(done) and self._may_take(taken):
                    # A batch came while the commit is on its way: its reads go right behind
                    # it, and the loop applies it meanwhile, instead of after a new run's start
                    pipe.begin()
                    nxt = self._take(pipe, taken, None)
            job = nxt

    async def _arrives_before(self, done: "asyncio.Future[None]") -> bool:
        """Wait until a batch is submitted or ``done`` is; whether a batch waits then."""
        if not self._queue and not done.done():
            arrival = self._arrival = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait([arrival, done], return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._arrival = None
        return bool(self._queue)


def _book_of(job: Job, rows: list[list[Row]]) -> Book:
    """The job's book from its rows, with what the batch before it holds carried over (pure:
    may run on the ledger thread; ``job.after``'s book is no longer changed by then)."""
    book = batch_io.batch_book(
        rows, branch_id=_branch(job), device_id=job.who.device_id, now=job.now, rng=job.rng
    )
    if job.after is not None:
        assert job.after.book is not None
        carry_over(book, job.after.book, job.keys, job.business_id, job.after.business_id)
    return book


def _branch(job: Job) -> int:
    assert job.who.branch_id is not None
    return job.who.branch_id


def _read(queries: list[tuple[str, Params]], conn: sqlite3.Connection) -> list[list[Row]]:
    # every query's rows come back in one JSON text, from one statement: fetched row by row,
    # or query by query, the writer's thread waits for the GIL after each while the loop runs
    # Python
    args = [value for _, params in queries for value in params]
    got: list[list[Row]] = orjson.loads(
        conn.execute(all_as_json(tuple(sql for sql, _ in queries)), args).fetchone()[0]
    )
    return got


@lru_cache(maxsize=64)
def all_as_json(queries: tuple[str, ...]) -> str:
    """The ``queries`` (``?`` parameters in turn) as one row: a JSON array of their
    ``as_json`` arrays."""
    each = " || ',' || ".join(f"({as_json(sql)})" for sql in queries)
    return f"SELECT '[' || {each} || ']'"


_SELECT = re.compile(r"^SELECT ((?:\w+, )*\w+) FROM ", re.DOTALL)


@lru_cache(maxsize=64)
def as_json(sql: str) -> str:
    """``sql`` (``SELECT a, b FROM ...``) as one row: a JSON array of ``[a, b]`` arrays."""
    columns = _SELECT.match(sql)
    assert columns is not None, sql
    return f"SELECT json_group_array(json_array({columns.group(1)})) FROM ({sql})"  # noqa: S608


def _write(plan: book_io.FlushPlan, conn: sqlite3.Connection) -> None:
    if plan.cards:
        reserved = conn.execute(book_io.NEXT_SEQ, (len(plan.cards), plan.business_id)).fetchone()
        write_many(conn, book_io.UPDATE_CARD, plan.card_rows(int(reserved[0])))
    for sql, rows in plan.writes:
        write_many(conn, sql, rows)


def _answer(group: list[Job], done: "asyncio.Future[None]") -> None:
    err = done.exception() if not done.cancelled() else asyncio.CancelledError()
    for job in group:
        if job.fut.done():
            continue
        if err is None:
            job.fut.set_result(job.outcomes)
        else:
            job.fut.set_exception(err)


def _names(card: Card) -> set[str]:
    names = {f"c:{card.card_code}", f"n:{card.number}"}
    if card.email:
        names.add(f"e:{card.email}")
    if card.phone:
        names.add(f"p:{card.phone}")
    return names


def carry_over(
    book: Book, prev: Book, keys: BatchKeys, business_id: int, prev_business: int
) -> None:
    """Bring into ``book``, whose rows were read before ``prev``'s writes reached the database,
    what ``prev`` holds of the rows ``book`` read or asked for (copies, unchanged in ``book``):
    ledger ids (any business: event ids are global), cards (same business), orders and QRs
    (same branch)."""
    for eid in keys.event_ids:
        digest = prev.known.get(eid)
        if digest is not None:
            book.known[eid] = digest
    if business_id == prev_business:
        asked = set(keys.card_refs)
        have = book.cards
        for customer_id, card in prev.cards.items():
            copy = Card(customer_id, card.card_code, card.number, card.email, card.name,
                        card.balance, phone=card.phone)  # fmt: skip
            if customer_id in have:
                have[customer_id] = copy  # found by the same keys: only the balance moved
            elif asked and _names(card) & asked:
                book.add_card(copy)
    if book.branch_id != prev.branch_id:
        return
    # orders by (scope, id) and QRs by (device, reference) since #14 (two tills, one check id)
    for key, order in prev.orders.items():
        if key[1] in keys.order_ids:
            book.orders[key] = replace(order, new=False, dirty=False)
    refs = keys.qr_refs | {o.order_ref for o in book.orders.values() if o.order_ref}
    for qr_key, qr in prev.qrs.items():
        if qr_key[1] in refs:
            book.qrs[qr_key] = replace(qr, new=False, dirty=False)
