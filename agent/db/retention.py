"""Retention: the agent's checks, scans and print jobs leave after ``agent.retention_days``.

What goes, and what that means:

- a check (``orders``) made, and voided if it was, before the cut-off: its id stays in
  ``pruned_orders``, so ``GET``, void, reprint and QR of it answer ``410 order_pruned`` (a
  refund of an older check is taken back by hand at the till, not through the agent);
- the answers the cloud gave for its events (``event_results``) once the POS was told;
- scans (the kiosk, autopilot and staff log) and finished print jobs (queued ones stay).

Nothing is pruned that has not synced: a check whose event the cloud has not acknowledged
(pending, in flight or dead) stays however old it is, and the cut-off never passes the oldest
such event (a void's, a scan's). Redemptions stay (a reward code is never redeemed twice on
this agent). Deletes run in batches of ``batch`` rows, each its own short write, so checks keep
being recorded meanwhile.
"""

import json
import logging
from dataclasses import dataclass
from typing import NoReturn

from agent.db.database import AgentDb
from sync.contract.errors import Gone, NotFound

log = logging.getLogger(__name__)
DAY_S = 86_400.0

# checks are keyed by till and id (``agent.orders.keys.order_key``): two tills' check 1001 are
# two rows, pruned one at a time; the pruned id is kept once, whichever till's it was
PRUNE_ORDERS = (
    "INSERT OR IGNORE INTO pruned_orders (order_id, created_at, pruned_at) "
    "SELECT order_id, created_at, ? FROM orders "
    "WHERE order_key IN (SELECT value FROM json_each(?))"
)
DELETE_ORDERS = "DELETE FROM orders WHERE order_key IN (SELECT value FROM json_each(?))"
DELETE_RESULTS = "DELETE FROM event_results WHERE event_id IN (SELECT value FROM json_each(?))"
DELETE_SCANS = "DELETE FROM scans WHERE scan_id IN (SELECT value FROM json_each(?))"
DELETE_JOBS = "DELETE FROM print_jobs WHERE job_id IN (SELECT value FROM json_each(?))"


@dataclass
class Pruned:
    """How many of each went in one round."""

    orders: int = 0
    scans: int = 0
    print_jobs: int = 0
    event_results: int = 0

    @property
    def total(self) -> int:
        return self.orders + self.scans + self.print_jobs + self.event_results


async def cutoff(db: AgentDb, retention_days: float, now: float) -> float:
    """The time before which records may go: ``retention_days`` ago, or earlier if an outbox
    event from before then has not been acknowledged by the cloud."""
    cut = now - retention_days * DAY_S
    row = await db.fetchone("SELECT MIN(created_at) AS t FROM outbox WHERE state != 'acked'")
    if row is not None and row["t"] is not None:
        cut = min(cut, float(row["t"]))
    return cut


async def prune(db: AgentDb, retention_days: float, now: float, *, batch: int = 1000) -> Pruned:
    """Delete the records older than the retention period (see the module's notes)."""
    cut = await cutoff(db, retention_days, now)
    out = Pruned()
    while True:
        rows = await db.fetchall(
            "SELECT order_key, event_id FROM orders WHERE created_at < ? "
            "AND (voided_at IS NULL OR voided_at < ?) AND NOT EXISTS (SELECT 1 FROM outbox "
            "WHERE outbox.event_id = orders.event_id AND outbox.state != 'acked') LIMIT ?",
            (cut, cut, batch),
        )
        if not rows:
            break
        ids = json.dumps([r["order_key"] for r in rows])
        await db.write([(PRUNE_ORDERS, (now, ids)), (DELETE_ORDERS, (ids,))])
        out.orders += len(rows)
    out.event_results = await _batches(
        db, "SELECT event_id FROM event_results WHERE applied_at < ? AND webhook != 'due' "
        "AND event_id NOT IN (SELECT event_id FROM orders WHERE event_id IS NOT NULL) LIMIT ?",
        DELETE_RESULTS, cut, batch,
    )  # fmt: skip
    out.scans = await _batches(
        db, "SELECT scan_id FROM scans WHERE created_at < ? LIMIT ?", DELETE_SCANS, cut, batch
    )
    out.print_jobs = await _batches(
        db, "SELECT job_id FROM print_jobs WHERE created_at < ? "
        "AND status IN ('sent', 'confirmed', 'failed', 'stale') LIMIT ?", DELETE_JOBS, cut, batch,
    )  # fmt: skip
    if out.total:
        log.info(
            "retention: pruned %d check(s), %d scan(s), %d print job(s) older than %g day(s)",
            out.orders, out.scans, out.print_jobs, retention_days,
        )  # fmt: skip
    return out


async def _batches(db: AgentDb, select: str, delete: str, cut: float, batch: int) -> int:
    total = 0
    while True:
        rows = await db.fetchall(select, (cut, batch))
        if not rows:
            return total
        await db.write([(delete, (json.dumps([r[0] for r in rows]),))])
        total += len(rows)


async def missing_order(db: AgentDb, order_id: str) -> NoReturn:
    """Raise what a look-up of an order this agent does not have answers: ``Gone``
    (``order_pruned``) if retention removed it, else ``NotFound`` (``unknown_order``)."""
    row = await db.fetchone("SELECT created_at FROM pruned_orders WHERE order_id = ?", (order_id,))
    if row is not None:
        raise Gone(
            f"order {order_id} is older than this agent keeps checks (agent.retention_days) and "
            "was pruned: void or reprint it by hand",
            field="order_id",
            code="order_pruned",
        )
    raise NotFound(
        f"no order {order_id} was recorded by this agent", field="order_id", code="unknown_order"
    )
