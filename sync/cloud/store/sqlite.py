"""The SQLite backend (aiosqlite): one writer connection behind a lock, one reader, WAL.

``synchronous=FULL``: an answer of ``applied`` lets the agent delete the event from its outbox
and a claim answer is shown to the customer, so a commit must survive a power cut, not only a
crash of the process (``NORMAL`` in WAL mode may lose the last commits on power loss). To keep
that affordable, writes are group-committed: each ``write()`` body runs alone (one writer, in
order) inside a ``SAVEPOINT`` of a shared transaction, and the transaction commits when no other
writer is waiting (or after ``MAX_GROUP`` bodies). A body that fails rolls back only its own
savepoint; every caller returns only after the commit that holds its work, so an answer is never
given for data that is not on disk. One fsync then serves many concurrent claims or batches.
"""

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from sync.cloud.store.db import Db, Params, Row, Tx

MAX_GROUP = 64
T = TypeVar("T")
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-32000",
)


class SqliteTx(Tx):
    """Statements on one aiosqlite connection."""

    in_int = "IN (SELECT value FROM json_each(?))"
    in_text = "IN (SELECT value FROM json_each(?))"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def array(self, values: Sequence[Any]) -> Any:
        return json.dumps(list(values))

    # One thread hop per statement (``execute_fetchall``), not three (execute, fetch, close):
    # the hop, not SQLite, is what a claim's dozen small statements mostly cost.
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute_fetchall(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            await self._conn.executemany(sql, rows)

    # The statements are queued to the connection's one worker thread together (tasks start in
    # order, so they run in order): no wait on the event loop between them, which under load
    # is busy with other requests' Python.
    async def pipeline(
        self, fetches: Sequence[tuple[str, Params]], writes: Sequence[tuple[str, Sequence[Params]]]
    ) -> list[list[Row]]:
        calls: list[Coroutine[Any, Any, Any]] = [self.fetch(sql, *args) for sql, args in fetches]
        calls += [self.executemany(sql, rows) for sql, rows in writes if rows]
        done = await _in_order(calls)
        return done[: len(fetches)]


async def _in_order(calls: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run ``calls`` concurrently (started in order); their results, or the first error once
    every one has finished."""
    done = await asyncio.gather(*calls, return_exceptions=True)
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return cast(list[T], done)


class SqliteDb(Db):
    """A SQLite file; writes go one at a time through the writer connection."""

    dialect = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self._waiting = 0  # writers queued for the lock
        self._open = False  # a group transaction is open
        self._pending: list[asyncio.Future[None]] = []  # bodies done, waiting for the commit
        self._flushes: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, path: str) -> "SqliteDb":
        """Open (creating the folder and file if needed) the database at ``path``."""
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conns = []
        for _ in range(2):
            conn = await aiosqlite.connect(path, isolation_level=None)
            conn.row_factory = sqlite3.Row
            for pragma in _PRAGMAS:
                await conn.execute(pragma)
            conns.append(conn)
        return cls(conns[0], conns[1])

    @asynccontextmanager
    async def write(self, business_id: int) -> AsyncIterator[Tx]:
        del business_id  # one writer serializes every business
        self._waiting += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._waiting -= 1
            self._flush_later()
            raise
        self._waiting -= 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        released = False
        try:
            await self._savepoint()
            try:
                yield SqliteTx(self._writer)
            except BaseException:
                await self._statements("ROLLBACK TO w", "RELEASE w")
                raise
            self._pending.append(done)
            released = True  # below: "RELEASE w", sent with the COMMIT when that follows
        finally:
            try:
                if self._waiting == 0 or len(self._pending) >= MAX_GROUP:
                    await self._commit(release=released)
                elif released:
                    await self._writer.execute("RELEASE w")
            finally:
                self._lock.release()
        await done

    async def _statements(self, *sql: str) -> BaseException | None:
        """Run ``sql`` in order with one wait for all; the first error (each still ran)."""
        got = await asyncio.gather(*(self._writer.execute(s) for s in sql), return_exceptions=True)
        return next((g for g in got if isinstance(g, BaseException)), None)

    async def _savepoint(self) -> None:
        """The body's ``SAVEPOINT``, after ``BEGIN IMMEDIATE`` if no group is open (one wait)."""
        if self._open:
            await self._writer.execute("SAVEPOINT w")
            return
        err = await self._statements("BEGIN IMMEDIATE", "SAVEPOINT w")
        if err is not None:  # a SAVEPOINT after a failed BEGIN opened a transaction: undo it
            if self._writer.in_transaction:
                await self._writer.execute("ROLLBACK")
            raise err
        self._open = True

    async def _commit(self, *, release: bool = False) -> None:
        """Commit the group (holding the lock) and tell every body in it how it went;
        ``release``: the last body's ``RELEASE w`` goes first, in the same wait."""
        pending, self._pending = self._pending, []
        if not self._open:
            return
        self._open = False
        err = await self._statements(*(["RELEASE w"] if release else []), "COMMIT")
        if err is not None:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await self._writer.execute("ROLLBACK")
            for fut in pending:
                if not fut.done():
                    fut.set_exception(err)
            return
        for fut in pending:
            if not fut.done():
                fut.set_result(None)

    def _flush_later(self) -> None:
        """A queued writer gave up: make sure the open group still commits."""

        async def flush() -> None:
            async with self._lock:
                if self._waiting == 0:
                    await self._commit()

        task = asyncio.get_running_loop().create_task(flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        yield SqliteTx(self._reader)

    async def migrate(self, migrations: Sequence[Sequence[str]]) -> int:
        async with self._lock:
            w = self._writer
            await w.execute("BEGIN IMMEDIATE")
            try:
                await w.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)"
                )
                async with w.execute("SELECT MAX(version) FROM schema_migrations") as cur:
                    row = await cur.fetchone()
                done = int(row[0] or 0) if row else 0
                for version, statements in enumerate(migrations, start=1):
                    if version <= done:
                        continue
                    for statement in statements:
                        await w.execute(statement)
                    await w.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?)",
                        (version, int(time.time() * 1e6)),
                    )
            except BaseException:
                await w.execute("ROLLBACK")
                raise
            await w.execute("COMMIT")
            return max(done, len(migrations))

    async def close(self) -> None:
        await asyncio.gather(*self._flushes, return_exceptions=True)
        await self._reader.close()
        await self._writer.close()
