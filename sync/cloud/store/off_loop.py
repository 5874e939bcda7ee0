"""A batch's pure, CPU-heavy steps (building its book, the ledger rules, the rows to write) run
off the event loop once the batch is big enough for the hop to pay (issue #14: no handler may
hold the loop more than a few milliseconds).

A full batch of 500 events held the cloud's loop 232 ms (SQLite) / 550 ms (PostgreSQL) in
``tests/sync/cloud/test_loop_hold.py`` (debug-mode timings, 2026-12-07): every other request
waited behind it. Here those steps go to one ``WorkerThread`` per store; the loop only awaits
them. A fleet's batch of 1-3 events stays on the loop: its work is smaller than the hop (the
hand-off, the thread's wake-up, and the GIL changing hands twice). ``OFF_LOOP_EVENTS`` is where
the hop starts paying, measured by ``bench/off_loop_hop.py`` (``bench/README.md``).

A book handed to the thread is held by it alone: the coroutine that owns the book awaits the
thread's answer before it touches the book again, and no other task has a reference to it.
The thread runs one job at a time, in the order they were handed over.
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
