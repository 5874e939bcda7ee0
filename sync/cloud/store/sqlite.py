"""The SQLite backend (aiosqlite): one writer connection behind a lock, one reader, WAL.

``synchronous=FULL``: an answer of ``applied`` lets the agent delete the event from its outbox
and a claim answer is shown to the customer, so a commit must survive a power cut, not only a
crash of the process (``NORMAL`` in WAL mode may lose the last commits on power loss). The cost
is one fsync per transaction, i.e. per batch of up to 500 events.
"""

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from sync.cloud.store.db import Db, Params, Row, Tx

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

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._conn.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._conn.execute(sql, args) as cur:
            return await cur.fetchone()

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            await self._conn.executemany(sql, rows)


class SqliteDb(Db):
    """A SQLite file; writes go one at a time through the writer connection."""

    dialect = "sqlite"

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()

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
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

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
        await self._reader.close()
        await self._writer.close()
