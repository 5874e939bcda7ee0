"""The durable outbox: every event is on disk (WAL, ``synchronous=FULL``) before anyone is told.

All writes go through one writer task that commits whatever requests are waiting in one
``BEGIN IMMEDIATE`` transaction (group commit), so throughput is not one fsync per request.
A group is staged on the event loop's thread (quick CPU work on pages in memory) and only its
``COMMIT``, which waits for the fsync, runs on the writer's own thread, one hop per group
(aiosqlite would cost a thread round trip per statement). A request may carry a *guard*
query: if it finds a row, the request's statements are skipped and the row is returned, inside
the same transaction, which is how an order id is recorded exactly once without a separate read.
If a group fails, each request is retried alone so that one bad request never fails its
neighbours. Reads use a second (aiosqlite) connection; WAL lets them run beside the writer.
"""

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from uuid import UUID

import aiosqlite
from pydantic import BaseModel

from agent.db.writer import Guard, open_writer, run_group
from agent.db.writer import Stmt as Stmt  # re-exported: callers build statements
from sync.contract.events import canonical_json, payload_hash_canonical
from sync.edge.errors import OutboxFullError, SyncError
from sync.web.worker_thread import WorkerThread

State = Literal["pending", "sent", "acked", "dead"]
MAX_GROUP = 512
T = TypeVar("T")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        payload_hash TEXT NOT NULL,
        device_time TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'acked', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        acked_at REAL
    )""",
    # Partial indexes, one per state that is looked up: an ack moves a row out of one small
    # index and into another. Indexes keyed on ``state`` itself moved every acked row between
    # two regions of two indexes, which was two thirds of the agent's CPU while draining.
    "DROP INDEX IF EXISTS outbox_due",
    "DROP INDEX IF EXISTS outbox_acked",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE state = 'pending'",
    "CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (seq) WHERE state = 'sent'",
    "CREATE INDEX IF NOT EXISTS outbox_dead ON outbox (seq) WHERE state = 'dead'",
    "CREATE INDEX IF NOT EXISTS outbox_acked_at ON outbox (acked_at) WHERE state = 'acked'",
]
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


class _Write:
    __slots__ = ("fut", "guard", "stmts")

    def __init__(
        self, stmts: list[Stmt], guard: Guard | None, fut: "asyncio.Future[sqlite3.Row | None]"
    ) -> None:
        self.stmts = stmts
        self.guard = guard
        self.fut = fut


def _is_disk_full(err: BaseException) -> bool:
    text = str(err).lower()
    return isinstance(err, sqlite3.OperationalError) and (
        "full" in text or "disk i/o" in text or "no space" in text
    )


class Outbox:
    """The agent's SQLite database: the outbox table plus tables other modules register."""

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        pool: WorkerThread,
        reader: aiosqlite.Connection,
    ) -> None:
        self.path = path
        self._w = writer
        self._pool = pool
        self._r = reader
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.groups_committed = 0
        self.writes_committed = 0
        self._listeners: list[asyncio.Event] = []
        # The writer's connection is used by the loop's thread (staging a group) and by the
        # writer's thread (its COMMIT, maintenance), one after the other, never at once.
        self._w_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, extra_schema: Iterable[str] = ()) -> "Outbox":
        """Open (creating if needed) the database at ``path`` and start the writer."""
        path.parent.mkdir(parents=True, exist_ok=True)
        pool = WorkerThread("outbox-writer")
        try:
            writer = await pool.call(open_writer, path, [*SCHEMA, *extra_schema])
            reader = await aiosqlite.connect(path, isolation_level=None)
            await reader.execute("PRAGMA busy_timeout = 5000")
            await reader.execute("PRAGMA query_only = 1")
        except sqlite3.Error as err:
            await pool.close()
            raise SyncError(f"cannot open the outbox at {path}: {err}") from err
        box = cls(path, writer, pool, reader)
        box._task = asyncio.create_task(box._writer_loop(), name="outbox-writer")
        return box

    async def close(self) -> None:
        """Finish queued writes, stop the writer and close both connections."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        async with self._w_lock:
            await self._pool.call(self._w.close)
        await self._pool.close()
        await self._r.close()

    async def on_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the writer's thread (maintenance: pragmas, checkpoints),
        between two group commits."""
        async with self._w_lock:
            return await self._pool.call(_maintain, fn, self._w)

    def subscribe(self) -> asyncio.Event:
        """An event set after every commit that stored something (the uploader waits on it)."""
        ev = asyncio.Event()
        self._listeners.append(ev)
        return ev

    # -- writing -------------------------------------------------------------------------

    async def write(
        self, stmts: Sequence[Stmt], *, guard: Guard | None = None
    ) -> sqlite3.Row | None:
        """Run ``stmts`` in one durable transaction shared with concurrent writers.

        With a ``guard`` query, the statements run only if it finds no row; the row it found
        is returned instead (checked inside the same transaction).
        """
        if self._task is None or self._task.done():
            raise SyncError("the outbox is closed")
        fut: asyncio.Future[sqlite3.Row | None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Write(list(stmts), guard, fut))
        return await fut

    async def append(
        self, events: Sequence[NewEvent], extra: Sequence[Stmt] = (), *, guard: Guard | None = None
    ) -> sqlite3.Row | None:
        """Store ``events`` (and ``extra`` statements) durably; returns after the commit."""
        now = time.time()
        return await self.write([*(event_statement(e, now) for e in events), *extra], guard=guard)

    async def _writer_loop(self) -> None:
        stop = False
        while not stop:
            first = await self._queue.get()
            if first is None:
                break
            group = [first]
            while len(group) < MAX_GROUP and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            await self._commit_group(group)

    async def _commit_group(self, group: list[_Write]) -> None:
        try:
            found = await self._run(group)
        except sqlite3.Error as err:
            if len(group) == 1 or _is_disk_full(err):
                self._fail(group, err)
                return
            for w in group:  # isolate the bad request; the others still commit
                try:
                    one = await self._run([w])
                except sqlite3.Error as one_err:
                    self._fail([w], one_err)
                else:
                    self._done([w], one)
            return
        self._done(group, found)

    async def _run(self, group: list[_Write]) -> list[sqlite3.Row | None]:
        reqs = [(w.guard, w.stmts) for w in group]
        async with self._w_lock:
            return await run_group(self._pool, self._w, reqs)

    def _done(self, group: list[_Write], found: list[sqlite3.Row | None]) -> None:
        self.groups_committed += 1
        self.writes_committed += len(group)
        for w, row in zip(group, found, strict=True):
            if not w.fut.done():
                w.fut.set_result(row)
        for ev in self._listeners:
            ev.set()

    @staticmethod
    def _fail(group: list[_Write], err: sqlite3.Error) -> None:
        exc: SyncError
        if _is_disk_full(err):
            exc = OutboxFullError(f"the agent's disk is full; nothing was recorded ({err})")
        else:
            exc = SyncError(f"could not record: {err}")
        for w in group:
            if not w.fut.done():
                w.fut.set_exception(exc)

    # -- reading -------------------------------------------------------------------------

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query on the reader connection."""
        self._r.row_factory = sqlite3.Row
        return list(await self._r.execute_fetchall(sql, params))  # one thread hop, not three

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The first row of a read-only query, or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

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

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` as text (``ok`` when the file is sound)."""
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"


def _maintain(fn: Callable[[sqlite3.Connection], T], db: sqlite3.Connection) -> T:
    """Run ``on_writer``'s ``fn`` and leave the connection as the group commit needs it: no
    open transaction, and no cursor handed out (a cursor not read to its end keeps a statement
    running, and every later ``COMMIT`` would fail with "SQL statements in progress")."""
    try:
        result = fn(db)
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
    if isinstance(result, sqlite3.Cursor):
        result.close()
        raise TypeError("on_writer: return rows (fetchall), not a cursor")
    return result


def _row(r: sqlite3.Row) -> OutboxRow:
    data = dict(r)
    data["payload"] = json.loads(data["payload"])
    return OutboxRow.model_validate(data)
