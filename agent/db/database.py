"""The agent's database: every write is on disk (WAL, ``synchronous=FULL``) before anyone is told.

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
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from agent.db.errors import DbError, DiskFullError
from agent.db.lock import hold_shared, release
from agent.db.writer import Guard, open_writer, run_group
from config.private_files import private_database, private_dir
from sync.edge.storage import Stmt
from sync.web.worker_thread import WorkerThread

MAX_GROUP = 512
T = TypeVar("T")


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


class AgentDb:
    """The agent's SQLite file: one group-commit writer, one reader, every table migrated."""

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        pool: WorkerThread,
        reader: aiosqlite.Connection,
        hold: int,
    ) -> None:
        self.path = path
        self._hold = hold  # a shared lock: no restore swaps the file while it is open
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
    async def open(cls, path: Path, *, on_open: Sequence[Stmt] = ()) -> "AgentDb":
        """Open (creating if needed) the database at ``path``, migrate it, run ``on_open`` in
        the same transaction (crash recovery of the tables' owners), and start the writer.

        Raises ``DatabaseTooNew`` for a file a later release wrote, ``DatabaseBusy`` while a
        restore swaps it, ``DbError`` otherwise.
        """
        pool = WorkerThread("agent-db-writer")
        hold: int | None = None
        try:
            hold = await pool.call(_hold, path)
            writer = await pool.call(open_writer, path, list(on_open))
            reader = await aiosqlite.connect(path, isolation_level=None)
            await reader.execute("PRAGMA busy_timeout = 5000")
            await reader.execute("PRAGMA query_only = 1")
        except BaseException as err:
            if hold is not None:
                await pool.call(release, hold)
            await pool.close()
            if isinstance(err, sqlite3.Error):
                raise DbError(f"cannot open the agent database at {path}: {err}") from err
            raise
        box = cls(path, writer, pool, reader, hold)
        box._task = asyncio.create_task(box._writer_loop(), name="agent-db-writer")
        return box

    async def close(self) -> None:
        """Finish queued writes, stop the writer and close both connections."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        async with self._w_lock:
            await self._pool.call(self._w.close)
        await self._r.close()
        await self._pool.call(release, self._hold)
        await self._pool.close()

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
            raise DbError("the agent database is closed")
        fut: asyncio.Future[sqlite3.Row | None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Write(list(stmts), guard, fut))
        return await fut

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
        exc: DbError
        if _is_disk_full(err):
            exc = DiskFullError(f"the agent's disk is full; nothing was recorded ({err})")
        else:
            exc = DbError(f"could not record: {err}")
        for w in group:
            if not w.fut.done():
                w.fut.set_exception(exc)

    # -- reading -------------------------------------------------------------------------

    async def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` as text (``ok`` when the file is sound)."""
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    async def schema_version(self) -> int:
        """``PRAGMA user_version``: the migration this file is at."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query on the reader connection."""
        self._r.row_factory = sqlite3.Row
        return list(await self._r.execute_fetchall(sql, params))  # one thread hop, not three

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The first row of a read-only query, or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


def _hold(path: Path) -> int:
    """The shared hold on ``path`` (its lock file beside it, in a 0700 folder), then the file
    itself made 0600 (names, emails, the outbox): not before, so that a start during a restore
    leaves nothing behind."""
    private_dir(path.parent)
    fd = hold_shared(path)
    try:
        private_database(path)
    except BaseException:
        release(fd)
        raise
    return fd


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
