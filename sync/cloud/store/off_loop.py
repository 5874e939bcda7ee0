"""A batch's pure, CPU-heavy steps (building its book, the ledger rules, the rows to write, the
answer) run off the event loop once the batch is big enough for the hop to pay (issue #14: no
handler may hold the loop more than a few milliseconds).

The largest batch ``tests/sync/cloud/test_loop_hold.py`` sends (500 checks, each reaching the
goal fifty times) held the cloud's loop 488-521 ms on SQLite and 307-336 ms on PostgreSQL; with
these steps on one ``WorkerThread`` per store, 12-37 ms and 22-26 ms (two paired runs each,
2026-12-08, asyncio debug timings on a loaded machine; what is left is mostly reading the body,
done in a helper process when the cloud runs as a service). A fleet's batch of 1-3 events
stays on the loop: for it the hop costs the loop more CPU than the work it would move, and
adds latency. ``OFF_LOOP_EVENTS`` is where that turns, from ``bench/off_loop_hop.py``
(``bench/README.md``): from 16 events the loop spends less on the hop than the work, and a
batch just below it holds the loop at most a few milliseconds even with every check reaching
the goal many times over.

A book handed to the thread is held by it alone: the coroutine that owns the book awaits the
thread's answer before it touches the book again, and no other task has a reference to it.
The thread runs one job at a time, in the order they were handed over. (The app's random
generator, which a book draws reward codes from, is shared; ``random.Random`` draws are safe
from two threads, only their interleaving, never fixed anyway, changes.)
"""

from collections.abc import Callable
from typing import TypeVar

from sync.cloud import ledger
from sync.cloud.book import Applied, Book
from sync.cloud.records import Incoming
from sync.cloud.store import book_io
from sync.web.worker_thread import WorkerThread

T = TypeVar("T")

# events in a batch from which its CPU steps leave the loop (``bench/off_loop_hop.py``)
OFF_LOOP_EVENTS = 16


class OffLoop:
    """Runs a batch's pure steps here (small batch) or on the store's ledger thread (big)."""

    def __init__(self, min_events: int = OFF_LOOP_EVENTS) -> None:
        self.min_events = min_events
        self._thread: WorkerThread | None = None

    async def run(self, events: int, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` for a batch of ``events`` events: on the loop below ``min_events``,
        else on the thread (started on first use). The caller must not touch what ``args``
        hold until this returns."""
        if events < self.min_events:
            return fn(*args)
        if self._thread is None:
            self._thread = WorkerThread("stampedge-ledger")
        return await self._thread.call(fn, *args)

    async def close(self) -> None:
        """End the thread (after its queued jobs), if it was started."""
        if self._thread is not None:
            await self._thread.close()
            self._thread = None


def apply_and_plan(
    book: Book, items: list[Incoming], business_id: int
) -> tuple[list[ledger.Outcome], list[Applied], book_io.FlushPlan]:
    """The ledger rules over ``items`` (``ledger.apply_batch``) and the rows the book then
    writes (``book_io.flush_plan``): the outcomes, the events applied, the plan."""
    outcomes, applied = ledger.apply_batch(book, items)
    return outcomes, applied, book_io.flush_plan(book, business_id, applied)
