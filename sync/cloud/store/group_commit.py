"""Event batches on PostgreSQL: the batches of concurrent requests share one transaction and
one commit (group commit), as the SQLite path's pipeline (``ingest.py``) does.

A fleet of tills sends a few events at a time, so a request's own work is small and its
transaction's fixed costs (a pooled connection, ``BEGIN``, the business's advisory lock and
above all the commit's WAL flush) are most of it. Here up to ``WORKERS`` transactions run at
once; a batch that arrives while they are all busy waits, and the next free one takes every
batch waiting (at most ``MAX_GROUP``): one transaction that waits for the first batch's
business's lock and takes those of the others' businesses that nobody holds (``write_some``;
the batches of a business locked elsewhere go back to the head of the queue), applies the
batches one after another exactly as they would be applied alone (each sees what those before
it wrote) and commits once. When the cloud is quiet a batch goes alone and at once.

Every request is answered only after the commit that holds its events returned: nothing is
acknowledged that is not durable. If the group's transaction fails (a batch the database
refuses), each of its batches is tried again alone, so one batch's fault fails only its own
request, never its neighbours'.

``bench/fleet.py`` at a fixed load (1,000 tills, one process, 2026-12-07, loaded machine): the
cloud's CPU per request 1,474 -> 1,277 µs, per event 2,290 -> 1,982 (``bench/README.md``).
"""

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sync.cloud import ledger
from sync.cloud.book import Caused
from sync.cloud.records import BatchKeys, Incoming
from sync.cloud.store import batch_io, book_io
from sync.cloud.store.db import Tx
from sync.cloud.store.off_loop import OffLoop, apply_and_plan
from sync.cloud.store.tenancy import Principal

if TYPE_CHECKING:  # asyncpg is imported only where PostgreSQL is used (``store.open_db``)
    from sync.cloud.store.postgres import PgDb

WORKERS = 4  # transactions at once (the pool holds 10 connections: reads keep the rest)
MAX_GROUP = 64  # batches in one transaction


@dataclass(eq=False)
class Job(batch_io.BatchJob):
    """One request's batch, waiting for the commit that holds it."""

    caused: dict[str, Caused] = field(default_factory=dict)
    applied: int = 0


async def apply_in(tx: Tx, job: Job, off: OffLoop) -> list[ledger.Outcome]:
    """Apply one batch inside ``tx`` (which holds its business's lock); its outcomes. What it
    caused goes into ``job.caused``, kept only once the transaction commits. A big batch's CPU
    steps run on ``off``'s thread (``off_loop.py``), awaited one at a time."""
    who = job.who
    assert who.branch_id is not None
    events, business_id = len(job.items), who.business_id
    rows = await tx.fetch_each(batch_io.batch_queries(tx, business_id, who.branch_id, job.keys))
    book = await off.run(
        events, partial(batch_io.batch_book, branch_id=who.branch_id, device_id=who.device_id,
                        now=job.now, rng=job.rng), rows,
    )  # fmt: skip
    await batch_io.complete_batch(tx, book, business_id, job.keys)
    await batch_io.enrol(tx, book, business_id, job.items, job.keys)
    outcomes, applied, plan = await off.run(events, apply_and_plan, book, job.items, business_id)
    await book_io.write_plan(tx, plan)
    job.caused = dict(book.caused)
    job.applied = len(applied)
    return outcomes


class GroupCommit:
    """Batches of concurrent requests applied in shared transactions; ``submit`` answers each."""

    def __init__(self, db: "PgDb", on_commit: Callable[[int], None], off: OffLoop) -> None:
        self._db = db
        self._off = off
        self._on_commit = on_commit  # ledger rows committed (``Db.wrote``)
        self._queue: deque[Job] = deque()
        self._busy = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0  # transactions committed, and the batches they held (``/metrics``)
        self.grouped = 0

    @property
    def waiting(self) -> int:
        """Batches waiting for a transaction."""
        return len(self._queue)

    async def submit(
        self,
        who: Principal,
        items: list[Incoming],
        keys: BatchKeys,
        now: datetime,
        rng: random.Random,
        caused: dict[str, Caused] | None,
    ) -> list[ledger.Outcome]:
        """Apply the batch with whatever others wait; its outcomes once they are committed."""
        loop = asyncio.get_running_loop()
        job = Job(who, items, keys, now, rng, loop.create_future())
        self._queue.append(job)
        if self._busy < WORKERS:
            self._busy += 1
            task = loop.create_task(self._work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        outcomes = await asyncio.shield(job.fut)
        if caused is not None:
            caused.update(job.caused)
        return outcomes

    async def close(self) -> None:
        """Wait until the batches already submitted are answered."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work(self) -> None:
        try:
            while self._queue:
                group = [self._queue.popleft() for _ in range(min(MAX_GROUP, len(self._queue)))]
                await self._run(group)
        finally:
            self._busy -= 1

    async def _run(self, group: list[Job]) -> None:
        try:
            done = await self._commit(group)
        except Exception as err:  # noqa: BLE001 (each batch is tried again alone, below)
            if len(group) == 1:
                _fail(group[0], err)
                return
            for job in group:
                if job not in self._queue:  # (one put back for later is tried there)
                    await self._run([job])
            return
        except BaseException as err:  # cancelled (the store closing): nobody waits forever
            for job in group:
                _fail(job, err)
            raise
        for job, out in done:
            if not job.fut.done():
                job.fut.set_result(out)

    async def _commit(self, group: list[Job]) -> list[tuple[Job, list[ledger.Outcome]]]:
        """The group's batches whose business's lock it got, applied and committed; the others
        go back to the head of the queue (``PgDb.write_some``: a group waits only for the
        first batch's business, never while it holds a lock)."""
        first = group[0].who.business_id
        businesses = [first, *sorted({job.who.business_id for job in group} - {first})]
        async with self._db.write_some(businesses) as (tx, held):
            ready = [job for job in group if job.who.business_id in held]
            self._queue.extendleft(reversed([job for job in group if job not in ready]))
            done = [(job, await apply_in(tx, job, self._off)) for job in ready]
        self.groups += 1
        self.grouped += len(ready)
        self._on_commit(sum(job.applied for job in ready))
        return done


def _fail(job: Job, err: BaseException) -> None:
    if not job.fut.done():
        job.fut.set_exception(err)
