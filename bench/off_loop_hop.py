"""Where moving a batch's CPU steps off the event loop starts to pay (``off_loop.py``).

Run by hand: ``python bench/off_loop_hop.py [--rounds 200]``. For batches of n identified
checks (each to one of 20 cards, a per-order program whose goal some reach), the ledger rules
and the rows to write (``off_loop.apply_and_plan``, the step that moves) are timed run on the
loop ("inline") and handed to the ledger thread and awaited ("hop": the loop's wait, and the
loop thread's own CPU for it). "Hop cost" is the hop's wait minus the inline work: what a
request of that size pays more in latency. The loop is free while it waits, so a hop pays
once the work it frees the loop of is worth more than what it adds. Medians over the rounds;
prints a Markdown table.
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import table
from sync.cloud import ledger
from sync.cloud.book import Book, Card
from sync.cloud.models import ProgramConfig
from sync.cloud.records import Incoming
from sync.cloud.store.off_loop import apply_and_plan
from sync.contract.card_code import new_card_code
from sync.contract.events import Event
from sync.web.worker_thread import WorkerThread

NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)
CARDS = [Card(i + 1, new_card_code(), f"{100_000 + i}", None, None, i % 10) for i in range(20)]


def _batch(n: int) -> tuple[Book, list[Incoming]]:
    program = ProgramConfig.model_validate({"rule": "per_order", "goal": 10})
    book = Book(branch_id=1, device_id=1, program=program, now=NOW, rng=random.Random(n))
    for card in CARDS:
        book.add_card(Card(card.customer_id, card.card_code, card.number, None, None, card.balance))
    events = [
        Event.model_validate({
            "id": str(uuid.uuid4()), "type": "order.stamped", "device_time": NOW.isoformat(),
            "payload": {"order_id": f"o{k}", "total": "12.50", "currency": "EUR", "stamps": 1,
                        "rule": "per_order", "till": "t1",
                        "customer": {"card": CARDS[k % len(CARDS)].card_code}},
        })
        for k in range(n)
    ]  # fmt: skip
    return book, ledger.incoming(events)


async def _measure(n: int, rounds: int, thread: WorkerThread) -> tuple[float, float, float]:
    inline: list[float] = []
    hop: list[float] = []
    hop_cpu: list[float] = []
    for _ in range(rounds):
        book, items = _batch(n)
        start = time.perf_counter()
        apply_and_plan(book, items, 1)
        inline.append(time.perf_counter() - start)
        book, items = _batch(n)
        start, cpu = time.perf_counter(), time.thread_time()
        await thread.call(apply_and_plan, book, items, 1)
        hop.append(time.perf_counter() - start)
        hop_cpu.append(time.thread_time() - cpu)
    return statistics.median(inline), statistics.median(hop), statistics.median(hop_cpu)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    thread = WorkerThread("bench-ledger")
    rows = []
    try:
        for n in (1, 2, 3, 8, 16, 32, 64, 128, 500):
            inline, hop, cpu = await _measure(n, args.rounds, thread)
            rows.append((
                n, f"{inline * 1e6:,.0f}", f"{hop * 1e6:,.0f}", f"{(hop - inline) * 1e6:,.0f}",
                f"{cpu * 1e6:,.0f}", f"{(hop - inline) / inline:.0%}",
            ))  # fmt: skip
    finally:
        await thread.close()
    print(table(["events", "inline µs (loop held)", "hop: loop waits µs", "hop cost µs",
                 "hop: loop thread CPU µs", "hop cost / work"], rows))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
