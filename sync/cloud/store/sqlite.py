"""The SQLite backend: one writer connection behind a lock, one reader, WAL; each connection on
its own thread (``sqlite_thread.py``).

``synchronous=FULL``: an answer of ``applied`` lets the agent delete the event from its outbox
and a claim answer is shown to the customer, so a commit must survive a power cut, not only a
crash of the process (``NORMAL`` in WAL mode may lose the last commits on power loss). To keep
that affordable, writes are group-committed: each ``write()`` body runs alone (one writer, in
order) inside a ``SAVEPOINT`` of a shared transaction, and the transaction commits when no other
writer is waiting (or after ``MAX_GROUP`` bodies). A body that fails rolls back only its own
savepoint; every caller returns only after the commit that holds its work, so an answer is never
given for data that is not on disk. One fsync then serves many concurrent claims or batches.

``pipeline()`` hands the writer to one user for a run of steps queued without waiting for each
other (the batch pipeline, ``ingest.py``): there a failed step fails the whole transaction.
Checkpoints (copying the WAL back into the database file, with its fsyncs) run on a connection
of their own after commits, beside the writer instead of inside its commits.
"""

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from sync.cloud.errors import StoreError
from sync.cloud.store.db import Db, Tx
from sync.cloud.store.sqlite_thread import SqliteThread, SqliteTx

MAX_GROUP = 64
# Commits between checkpoints. A checkpoint copies each page changed since the last one once,
# however many commits changed it (a batch changes pages all over the event-id index): every
# commit's checkpoint copied about as many pages as it wrote.
CHECKPOINT_EVERY = 4
T = TypeVar("T")


def _run(*sql: str) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return run


def _begin(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("SAVEPOINT w")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _commit(release: bool, conn: sqlite3.Connection) -> None:
    try:
        if release:
            conn.execute("RELEASE w")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class SqliteDb(Db):
    """A SQLite file; writes go one at a time through the writer connection."""

    dialect = "sqlite"

    def __init__(self, writer: SqliteThread, reader: SqliteThread, spare: SqliteThread) -> None:
        self._writer = writer
        self._reader = reader
        self._spare = spare  # runs checkpoints
        self._checkpoint: asyncio.Future[Any] | None = None
        self._commits = 0  # since the last checkpoint
        self._lock = asyncio.Lock()
        self._waiting = 0  # writers queued for the lock
        self._open = False  # a group transaction is open
        self._pending: list[asyncio.Future[None]] = []  # bodies done, waiting for the commit
        self._unchecked: list[asyncio.Future[Any]] = []  # statements nobody waited for
        self._flushes: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, path: str) -> "SqliteDb":
        """Open (creating the folder and file if needed) the database at ``path``."""
        writer = await SqliteThread.open(path, "cloud-sqlite-writer")
        # commits no longer checkpoint; ``_checkpoint_later`` does, on the spare connection
        await writer.submit(_run("PRAGMA wal_autocheckpoint=0"))
        reader = await SqliteThread.open(path, "cloud-sqlite-reader")
        spare = await SqliteThread.open(path, "cloud-sqlite-checkpoint")
        return cls(writer, reader, spare)

    @property
    def waiting(self) -> int:
        """Writers queued for the writer connection."""
        return self._waiting

    async def _acquire(self) -> None:
        self._waiting += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._waiting -= 1
            self._flush_later()
            raise
        self._waiting -= 1

    @asynccontextmanager
    async def write(self, business_id: int) -> AsyncIterator[Tx]:
        del business_id  # one writer serializes every business
        await self._acquire()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        released = False
        try:
            await self._savepoint()
            try:
                yield SqliteTx(self._writer.submit)
            except BaseException:
                await self._writer.submit(_run("ROLLBACK TO w", "RELEASE w"))
                raise
            self._pending.append(done)
            released = True  # below: "RELEASE w", sent with the COMMIT when that follows
        finally:
            try:
                if self._waiting == 0 or len(self._pending) >= MAX_GROUP:
                    await self._commit(release=released)
                elif released:
                    self._unchecked.append(self._writer.submit(_run("RELEASE w")))
            finally:
                self._lock.release()
        await done

    async def _savepoint(self) -> None:
        """The body's ``SAVEPOINT`` (queued), after ``BEGIN IMMEDIATE`` if no group is open."""
        if self._open:
            self._unchecked.append(self._writer.submit(_run("SAVEPOINT w")))
            return
        await self._writer.submit(_begin)
        self._open = True

    async def _commit(self, *, release: bool = False) -> None:
        """Commit the group (holding the lock) and tell every body in it how it went;
        ``release``: the last body's ``RELEASE w`` goes first, in the same trip."""
        pending, self._pending = self._pending, []
        if not self._open:
            return
        self._open = False
        err = await self._settled()
        if err is None:
            try:
                await self._writer.submit(partial(_commit, release))
            except (sqlite3.Error, StoreError) as failed:
                err = failed
        else:
            await self._writer.submit(_rollback)
        for fut in pending:
            if not fut.done():
                if err is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(err)
        if err is None:
            self._checkpoint_later()

    async def _settled(self) -> BaseException | None:
        """Wait for the statements nobody waited for; the first error among them."""
        unchecked, self._unchecked = self._unchecked, []
        got = await asyncio.gather(*unchecked, return_exceptions=True)
        return next((g for g in got if isinstance(g, BaseException)), None)

    def _flush_later(self) -> None:
        """A queued writer gave up: make sure the open group still commits."""

        async def flush() -> None:
            async with self._lock:
                if self._waiting == 0:
                    await self._commit()

        task = asyncio.get_running_loop().create_task(flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    def _checkpoint_later(self) -> None:
        """After every ``CHECKPOINT_EVERY`` commits, copy committed pages from the WAL into the
        database, beside the writer (one at a time; a checkpoint never blocks the writer, and a
        reader never blocks on it)."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY:
            return
        if self._checkpoint is None or self._checkpoint.done():
            self._commits = 0
            self._checkpoint = self._spare.submit(_run("PRAGMA wal_checkpoint(PASSIVE)"))
            self._checkpoint.add_done_callback(_ignore_result)

    @asynccontextmanager
    async def pipeline(self) -> AsyncIterator["Pipeline"]:
        """The writer for a run of steps queued without waiting (see ``Pipeline``); a group
        left open by ``write()`` bodies continues in it. On error everything since the last
        commit is rolled back and the open group's bodies fail too."""
        await self._acquire()
        pipe = Pipeline(self)
        try:
            if not self._open:
                await self._writer.submit(_run("BEGIN IMMEDIATE"))
                self._open = True
            err = await self._settled()
            if err is not None:
                raise err
            yield pipe
            await pipe.finish()
        except BaseException as err:
            await pipe.settled()
            self._open = False
            await self._writer.submit(_rollback)
            pending, self._pending = self._pending, []
            for fut in pending:
                if not fut.done():
                    fut.set_exception(err)
            raise
        finally:
            self._lock.release()

    async def forget_old_versions(self) -> None:
        """Copy every committed page into the database and empty the write-ahead log, whose
        frames still hold the pages as they were before the last writes (an erasure's)."""
        await self._acquire()  # no group transaction open while the log is emptied
        try:
            await self._commit()
            await self._spare.submit(_run("PRAGMA wal_checkpoint(TRUNCATE)"))
        finally:
            self._lock.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        yield SqliteTx(self._reader.submit)

    async def migrate(self, migrations: Sequence[Sequence[str]]) -> int:
        def run(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)"
                )
                row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
                done = int(row[0] or 0) if row else 0
                for version, statements in enumerate(migrations, start=1):
                    if version <= done:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?)",
                        (version, int(time.time() * 1e6)),
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return max(done, len(migrations))

        async with self._lock:
            version: int = await self._writer.submit(run)
            return version

    async def close(self) -> None:
        await asyncio.gather(*self._flushes, return_exceptions=True)
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        await self._reader.close()
        await self._spare.close()
        await self._writer.close()


def _ignore_result(fut: "asyncio.Future[Any]") -> None:
    if not fut.cancelled():
        fut.exception()  # a failed checkpoint is retried after the next commit


class Pipeline:
    """The writer connection held for a run of steps, each queued at once and run in order.

    ``submit(fn)`` queues ``fn(connection)`` and returns its future without waiting; ``commit()``
    queues a ``COMMIT`` (and the next ``BEGIN IMMEDIATE``). The first step that fails breaks the
    pipeline on the writer's thread: every later step, commits included, then fails without
    running, so nothing queued after a failure is ever committed.
    """

    def __init__(self, db: SqliteDb) -> None:
        self._db = db
        self._inflight: list[asyncio.Future[Any]] = []
        self._broken: BaseException | None = None  # set and read on the writer's thread
        self.tx = SqliteTx(self.submit)

    def _guarded(self, fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        def step(conn: sqlite3.Connection) -> T:
            if self._broken is not None:
                raise StoreError("an earlier step of this write failed") from self._broken
            if not conn.in_transaction:
                self._broken = StoreError("the write transaction is gone")
                raise self._broken
            try:
                return fn(conn)
            except BaseException as err:
                self._broken = err
                raise

        return step

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> "asyncio.Future[T]":
        """Queue ``fn(connection)`` in the open transaction."""
        fut = self._db._writer.submit(self._guarded(fn))
        self._inflight.append(fut)
        return fut

    def commit(self, *, reopen: bool) -> "asyncio.Future[None]":
        """Queue the commit of everything so far (``write()`` bodies of the open group too:
        they are told when it is done); ``reopen``: and open the next transaction (else no
        step may follow)."""
        pending, self._db._pending = self._db._pending, []
        done = self.submit(_run("COMMIT"))
        if reopen:
            self._inflight.append(self._db._writer.submit(_run("BEGIN IMMEDIATE")))
        else:
            self._db._open = False

        def tell(fut: "asyncio.Future[None]") -> None:
            err = None if fut.cancelled() else fut.exception()
            for body in pending:
                if not body.done():
                    if err is None:
                        body.set_result(None)
                    else:
                        body.set_exception(err)
            if err is None:
                self._db._checkpoint_later()

        done.add_done_callback(tell)
        return done

    def begin(self) -> None:
        """Queue the next transaction's ``BEGIN IMMEDIATE`` after ``commit(reopen=False)``: steps
        may follow again (and a commit must end them)."""
        self._inflight.append(self._db._writer.submit(_run("BEGIN IMMEDIATE")))
        self._db._open = True

    async def settled(self) -> BaseException | None:
        """Wait for every queued step; the first error."""
        inflight, self._inflight = self._inflight, []
        got = await asyncio.gather(*inflight, return_exceptions=True)
        return next((g for g in got if isinstance(g, BaseException)), None)

    async def finish(self) -> None:
        """Wait for every queued step; raise the first error (the caller rolls back)."""
        err = await self.settled()
        if err is not None:
            raise err
