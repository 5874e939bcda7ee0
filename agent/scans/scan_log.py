"""The rows scanning keeps in the agent's SQLite file (statement builders; no I/O here).

Every scan gets a row in ``scans`` (its table is in ``agent.db.schema``) with its outcome; the
kiosk's cooldown lives in its own table so that a restart does not reset it.
"""

import asyncio
import json
import logging

from agent.db import AgentDb, DbError, Stmt

log = logging.getLogger(__name__)

INSERT_SCAN = (
    "INSERT INTO scans (scan_id, code, kind, till, source, outcome, reason, order_id, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def scan_row(
    *,
    scan_id: str,
    code: str,
    kind: str | None,
    till: str | None,
    source: str,
    outcome: str,
    reason: str | None,
    order_id: str | None,
    at: float,
) -> Stmt:
    """The INSERT recording one scan and what became of it."""
    return (INSERT_SCAN, (scan_id, code, kind, till, source, outcome, reason, order_id, at))


def scan_resolved(scan_id: str, outcome: str, reason: str | None, order_id: str | None) -> Stmt:
    """The UPDATE giving a waiting (Autopilot) scan its final outcome."""
    return (
        "UPDATE scans SET outcome = ?, reason = ?, order_id = ? WHERE scan_id = ?",
        (outcome, reason, order_id, scan_id),
    )


def scan_taken_by_next_order(
    scan_id: str, till: str | None, customer_json: str, scanned_at: float
) -> Stmt:
    """The UPDATE marking a waiting scan attached to the first check that took its card.

    It runs after that check's own write (the same writer queue, later), so the sub-select
    finds it.
    """
    return (
        "UPDATE scans SET outcome = 'attached', reason = 'next_order', order_id = ("
        "SELECT order_id FROM orders WHERE till IS ? AND customer = ? AND created_at >= ? "
        "ORDER BY created_at LIMIT 1) WHERE scan_id = ?",
        (till, customer_json, scanned_at, scan_id),
    )


def cooldown_set(customer_key: str, stamped_at: float, scan_id: str) -> Stmt:
    """The UPSERT starting a card's kiosk cooldown."""
    return (
        "INSERT INTO scan_cooldowns (customer_key, stamped_at, scan_id) VALUES (?, ?, ?) "
        "ON CONFLICT (customer_key) DO UPDATE SET stamped_at = excluded.stamped_at, "
        "scan_id = excluded.scan_id",
        (customer_key, stamped_at, scan_id),
    )


def customer_json(kind: str, value: str) -> str:
    """A customer reference as the orders table stores it (``{"card": ...}``)."""
    return json.dumps({kind: value}, separators=(",", ":"))


class ScanRecorder:
    """Writes scan rows that carry no event in batches, so a flood of garbage costs one commit
    per batch and never waits in the scanner's read loop. At most ``max_rows`` wait."""

    def __init__(self, db: AgentDb, max_rows: int = 10_000) -> None:
        self.db = db
        self.max_rows = max_rows
        self.dropped = 0
        self._rows: list[Stmt] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def add(self, stmt: Stmt) -> None:
        """Queue a statement (dropped, and counted, past ``max_rows``)."""
        if len(self._rows) >= self.max_rows:
            self.dropped += 1
            return
        self._rows.append(stmt)
        self._wake.set()

    async def flush(self) -> None:
        """Write what is queued now."""
        async with self._lock:
            batch, self._rows = self._rows, []
            if batch:
                try:
                    await self.db.write(batch)
                except DbError as err:
                    log.error("could not record %d scan rows: %s", len(batch), err)

    async def run(self) -> None:
        """Flush whenever something is queued (the background task)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
