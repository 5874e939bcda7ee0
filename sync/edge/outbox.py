"""The outbox: every event the agent must deliver, with its delivery state.

Its rows live in the agent's database (``agent.db``: the file, the group commit, the table's
DDL), reached through ``sync.edge.storage.Storage``; this module knows the outbox's own
statements: storing events, counting them per state, moving them along, purging acked ones.
"""

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel

from sync.contract.events import canonical_json, payload_hash_canonical
from sync.edge.storage import Stmt as Stmt  # re-exported: callers build statements
from sync.edge.storage import Storage

State = Literal["pending", "sent", "acked", "dead"]
T = TypeVar("T")
# Events left 'sent' by a crash have an unknown outcome: send them again (the cloud is
# idempotent on event ids). Run by the agent's database as it opens, before anything is sent.
ON_OPEN: list[Stmt] = [("UPDATE outbox SET state = 'pending' WHERE state = 'sent'", ())]

# One COUNT per state, each over its own partial index (a GROUP BY would scan the table).
COUNT_STATES = (
    "SELECT 'pending', COUNT(*) FROM outbox WHERE state = 'pending' UNION ALL "
    "SELECT 'sent', COUNT(*) FROM outbox WHERE state = 'sent' UNION ALL "
    "SELECT 'acked', COUNT(*) FROM outbox WHERE state = 'acked' UNION ALL "
    "SELECT 'dead', COUNT(*) FROM outbox WHERE state = 'dead'"
)
# The oldest event not yet acked is the first one by seq (created_at follows seq: one writer),
# found through the partial indexes instead of reading every waiting row.
OLDEST_WAITING = (
    "SELECT MIN(t) FROM ("
    "SELECT (SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT 1) AS t "
    "UNION ALL "
    "SELECT (SELECT created_at FROM outbox WHERE state = 'sent' ORDER BY seq LIMIT 1))"
)
# One statement per purged batch of seqs (read first through the acked index).
PURGE_ACKED = "DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?)) AND state = 'acked'"

INSERT_EVENT = (
    "INSERT INTO outbox (event_id, type, payload, payload_hash, device_time, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING"
)


class NewEvent(BaseModel):
    """An event to make durable."""

    event_id: UUID
    type: str
    payload: dict[str, Any]
    device_time: datetime


class OutboxRow(BaseModel):
    """An event as stored, with its delivery state."""

    seq: int
    event_id: str
    type: str
    payload: dict[str, Any]
    payload_hash: str
    device_time: str
    state: State
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float


class OutboxCounts(BaseModel):
    """The figures ``/health`` and ``stampedge queue status`` show."""

    pending: int = 0
    sent: int = 0
    acked: int = 0
    dead: int = 0
    oldest_pending_age_s: float | None = None


def event_statement(event: NewEvent, now: float) -> Stmt:
    """The INSERT that stores one event (idempotent on ``event_id``)."""
    return event_row(str(event.event_id), event.type, event.payload, event.device_time, now)


def event_row(
    event_id: str, type_: str, payload: dict[str, Any], device_time: datetime, now: float
) -> Stmt:
    """``event_statement`` from plain values (the order path builds no ``NewEvent`` model)."""
    return event_row_json(event_id, type_, canonical_json(payload), device_time, now)


def event_row_json(
    event_id: str, type_: str, payload_json: str, device_time: datetime, now: float
) -> Stmt:
    """``event_row`` for a payload already in canonical JSON (``canonical_json_plain``)."""
    return (
        INSERT_EVENT,
        (
            event_id,
            type_,
            payload_json,
            payload_hash_canonical(type_, payload_json),
            device_time.astimezone(UTC).isoformat(),
            now,
        ),
    )


class Outbox:
    """The outbox's operations over the agent's database."""

    def __init__(self, db: Storage) -> None:
        self.db = db

    async def write(self, stmts: Sequence[Stmt]) -> Any:
        """Run ``stmts`` in one durable transaction (the database's group commit)."""
        return await self.db.write(stmts)

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query."""
        return await self.db.fetchall(sql, params)

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The first row of a read-only query, or None."""
        return await self.db.fetchone(sql, params)

    def subscribe(self) -> asyncio.Event:
        """An event set after every commit that stored something (the uploader waits on it)."""
        return self.db.subscribe()

    async def on_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the database's writer thread, between group commits."""
        return await self.db.on_writer(fn)

    async def append(self, events: Sequence[NewEvent], extra: Sequence[Stmt] = ()) -> Any:
        """Store ``events`` (and ``extra`` statements) durably; returns after the commit."""
        now = time.time()
        return await self.write([*(event_statement(e, now) for e in events), *extra])

    async def counts(self, now: float | None = None) -> OutboxCounts:
        """How many events are in each state, and the age of the oldest one not yet acked."""
        rows = await self.fetchall(COUNT_STATES)
        out = OutboxCounts(**{r[0]: r[1] for r in rows})
        oldest = await self.fetchone(OLDEST_WAITING)
        if oldest is not None and oldest[0] is not None:
            out.oldest_pending_age_s = max(0.0, (now or time.time()) - oldest[0])
        return out

    async def rows(self, state: State | None = None, limit: int = 100) -> list[OutboxRow]:
        """Events, oldest first, optionally of one state."""
        if state is None:
            found = await self.fetchall("SELECT * FROM outbox ORDER BY seq LIMIT ?", (limit,))
        else:
            found = await self.fetchall(
                "SELECT * FROM outbox WHERE state = ? ORDER BY seq LIMIT ?", (state, limit)
            )
        return [_row(r) for r in found]

    # -- delivery state ------------------------------------------------------------------

    async def mark(
        self,
        event_ids: Sequence[str],
        state: State,
        *,
        error: str | None = None,
        next_attempt_at: float | None = None,
        now: float | None = None,
    ) -> None:
        """Move events to ``state`` (attempts counted when they are sent)."""
        if not event_ids:
            return
        at = now if now is not None else time.time()
        sql = (
            "UPDATE outbox SET state = ?, last_error = COALESCE(?, last_error), "
            "attempts = attempts + (CASE WHEN ? = 'sent' THEN 1 ELSE 0 END), "
            "next_attempt_at = COALESCE(?, next_attempt_at), "
            "acked_at = CASE WHEN ? = 'acked' THEN ? ELSE acked_at END "
            "WHERE event_id = ?"
        )
        await self.write(
            [(sql, (state, error, state, next_attempt_at, state, at, eid)) for eid in event_ids]
        )

    async def retry_dead(self, event_ids: Sequence[str] | None = None) -> int:
        """Put dead events back in the queue (all of them when ``event_ids`` is None)."""
        if event_ids is None:
            rows = await self.fetchall("SELECT event_id FROM outbox WHERE state = 'dead'")
            event_ids = [r["event_id"] for r in rows]
        await self.mark(event_ids, "pending", next_attempt_at=0.0)
        return len(event_ids)

    async def purge_acked(self, older_than_s: float, *, batch: int = 1000) -> int:
        """Delete acked events older than ``older_than_s`` in batches, then checkpoint the WAL."""
        cutoff = time.time() - older_than_s
        total = 0
        while True:
            rows = await self.fetchall(
                "SELECT seq FROM outbox WHERE state = 'acked' AND acked_at < ? LIMIT ?",
                (cutoff, batch),
            )
            if not rows:
                break
            await self.write([(PURGE_ACKED, (json.dumps([r[0] for r in rows]),))])
            total += len(rows)
        if total:
            await self.on_writer(
                lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            )
        return total


def _row(r: sqlite3.Row) -> OutboxRow:
    data = dict(r)
    data["payload"] = json.loads(data["payload"])
    return OutboxRow.model_validate(data)
