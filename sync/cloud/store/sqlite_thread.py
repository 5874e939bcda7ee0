"""One SQLite connection and the one thread that uses it (``SqliteThread``), the ``Tx`` over
it (``SqliteTx``), and statements of many rows (``write_many``).

``SqliteThread.submit(fn)`` queues ``fn(connection)`` *at once*, in the caller's order (on a
``WorkerThread``, as the agent's outbox writer does), and returns a future: a caller can queue
its reads, keep working on the event loop, and queue its writes behind them without waiting in
between (the write pipeline in ``sqlite.py`` relies on this order). aiosqlite queues a call only
when its coroutine first runs and costs a thread round trip per statement; here one call can
run a whole step (a batch's reads, or all its writes).

``write_many`` sends many parameter rows as a few statements of many rows each. ``executemany``
steps SQLite once per row and ``sqlite3`` releases the GIL around every step: while the event
loop runs Python (the next batch's JSON, say), each row then waits for the GIL to come back, and
the writer's thread crawls. A statement of 256 rows waits once.
"""

import asyncio
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path
from typing import Any, TypeVar

import orjson

from sync.cloud.store.db import Params, Row, Tx
from sync.web.worker_thread import WorkerThread

T = TypeVar("T")
Submit = Callable[[Callable[[sqlite3.Connection], Any]], "asyncio.Future[Any]"]

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-32000",
    # A statement of many rows keeps a statement journal (the pages it changed, to undo it
    # alone); past 64 KiB SQLite spills that to a temporary file on disk, which a batch's
    # 256-row INSERT into the event-id index always passed: 3.7 ms for a batch's 500 ledger
    # rows instead of 1.9. Durability is the WAL's, not this journal's.
    "PRAGMA temp_store=MEMORY",
    # Deleted and overwritten content is zeroed, not left in free space on the page or on the
    # free list: an erased customer's name, email and phone must leave the file (issue #19).
    "PRAGMA secure_delete=ON",
)
# ``sqlite3`` binds None as NULL only after asking its adapter registry, the ``PrepareProtocol``
# type and the value itself for an adapter (420 ns a value on this machine; an int takes 54),
# all holding the GIL on the writer's thread; a batch's rows hold over a thousand Nones. An
# adapter for None that gives None back is found at the first step (about 140 ns) and binds
# the very same NULL. (The registry is the process's: every connection binds None the same.)
_NONE: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NONE.get)

# Rows per statement: powers of two, so that a few statement texts (kept compiled in the
# connection's statement cache) serve every number of rows.
CHUNKS = (256, 128, 64, 32, 16, 8, 4, 2, 1)
_INSERT = re.compile(r"^(INSERT INTO \w+ \([^)]*\)) VALUES (\([^()]*\))(.*)$", re.DOTALL)
_UPDATE = re.compile(r"^UPDATE (\w+) SET (.*) WHERE (.*)$", re.DOTALL)
_PAIR = re.compile(r"^\s*(\w+)\s*=\s*\?\s*$")


class SqliteThread:
    """A connection to ``path`` (WAL, ``synchronous=FULL``), used only by its own thread."""

    def __init__(self, path: str, name: str) -> None:
        self._conn: sqlite3.Connection | None = None
        self._path = path
        self._worker = WorkerThread(name)

    @classmethod
    async def open(cls, path: str, name: str) -> "SqliteThread":
        """Start the thread and open the connection on it (errors come back here)."""
        worker = cls(path, name)
        try:
            await worker._worker.call(worker._connect)
        except BaseException:
            await worker._worker.close()
            raise
        return worker

    def _connect(self) -> None:
        # On the worker thread, like the connect: creating the directory touches the disk.
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, cached_statements=512)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            conn.execute(pragma)
        self._conn = conn

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> "asyncio.Future[T]":
        """Queue ``fn(connection)`` now, behind everything queued before; its outcome later."""
        return self._worker.submit(self._with_conn, fn)

    def _with_conn(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        assert self._conn is not None  # opened by the first job
        return fn(self._conn)

    async def close(self) -> None:
        """Run what is queued, close the connection and end the thread."""
        if not self._worker.alive:
            return
        if self._conn is not None:
            await self.submit(lambda conn: conn.close())
        await self._worker.close()


def _fetch(sql: str, args: Params, conn: sqlite3.Connection) -> list[Row]:
    return conn.execute(sql, args).fetchall()


def _steps(
    fetches: Sequence[tuple[str, Params]],
    writes: Sequence[tuple[str, Sequence[Params]]],
    conn: sqlite3.Connection,
) -> list[list[Row]]:
    rows = [conn.execute(sql, args).fetchall() for sql, args in fetches]
    for sql, many in writes:
        write_many(conn, sql, many)
    return rows


class SqliteTx(Tx):
    """Statements on one connection's thread; a ``pipeline`` is one trip to that thread."""

    in_int = "IN (SELECT value FROM json_each(?))"
    in_text = "IN (SELECT value FROM json_each(?))"

    def __init__(self, submit: Submit) -> None:
        self.submit = submit  # queue a call on the connection's thread, in order

    def array(self, values: Sequence[Any]) -> Any:
        try:
            return orjson.dumps(list(values)).decode()
        except orjson.JSONEncodeError:  # (text orjson will not write: the standard encoder)
            return json.dumps(list(values))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self.submit(partial(_fetch, sql, args))
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return next(iter(await self.fetch(sql, *args)), None)

    async def execute(self, sql: str, *args: Any) -> None:
        await self.fetch(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            await self.submit(partial(write_many, sql=sql, rows=rows))

    async def pipeline(
        self, fetches: Sequence[tuple[str, Params]], writes: Sequence[tuple[str, Sequence[Params]]]
    ) -> list[list[Row]]:
        rows: list[list[Row]] = await self.submit(partial(_steps, fetches, writes))
        return rows


def write_many(conn: sqlite3.Connection, sql: str, rows: Sequence[Params]) -> None:
    """``rows`` through ``sql`` in statements of ``CHUNKS[0]`` rows at most (``bulk_sql``),
    each padded with rows of NULLs to a power of two: one statement per 256 rows, and only a
    few statement texts (kept compiled in the connection's statement cache). The NULL rows
    change nothing: an ``UPDATE`` matches no row on NULL keys, and an ``INSERT`` skips rows
    whose first column is NULL (an ``INSERT`` whose first value may be NULL goes unpadded)."""
    if len(rows) <= 1 or bulk_sql(sql, 2) is None:
        if rows:
            conn.executemany(sql, rows)
        return
    update = sql.lstrip().startswith("UPDATE")
    pad = update or all(row[0] is not None for row in rows)
    width = len(rows[0])
    # A padding row changes nothing through its one NULL (the last key of an UPDATE, the first
    # value of an INSERT); its other values are 0: ``sqlite3`` binds None several times slower
    # (it asks the adapter registry about every None, and not about an int).
    fill = [0] * (width - 1)
    blank = [*fill, None] if update else [None, *fill]
    at = 0
    while at < len(rows):
        n = min(len(rows) - at, CHUNKS[0])
        size = 1 << (n - 1).bit_length() if pad else max(c for c in CHUNKS if c <= n)
        flat = list(chain.from_iterable(rows[at : at + min(n, size)]))
        at += min(n, size)
        if pad and size > n:
            flat.extend(blank * (size - n))
        conn.execute(bulk_sql(sql, size, padded=pad) or sql, flat)


@lru_cache(maxsize=256)
def bulk_sql(sql: str, n: int, *, padded: bool = False) -> str | None:
    """``sql`` (an ``INSERT ... VALUES (?, ...)``, or an ``UPDATE t SET a = ?, ... WHERE
    k = ? AND ...``) for ``n`` parameter rows in one statement; ``None`` for other SQL.
    An ``UPDATE`` becomes ``UPDATE ... FROM (VALUES ...)``, matched on its keys (each row must
    name another target row); ``padded``: an ``INSERT`` skips rows whose first value is NULL."""
    insert = _INSERT.match(sql.strip())
    if insert is not None:
        head, group, tail = insert.groups()
        values = ", ".join([group] * n)
        if padded:  # (the WHERE also keeps "ON CONFLICT" from reading as a join's ON)
            return f"{head} SELECT * FROM (VALUES {values}) WHERE column1 IS NOT NULL{tail}"  # noqa: S608
        return f"{head} VALUES {values}{tail}"
    update = _UPDATE.match(sql.strip())
    if update is None:
        return None
    table, sets, where = update.groups()
    pairs = [_PAIR.match(p) for p in sets.split(",")]
    pairs += [_PAIR.match(p) for p in where.split(" AND ")]
    cols = [p.group(1) for p in pairs if p is not None]
    if len(cols) != len(pairs):
        return None
    n_set = len(sets.split(","))
    group = "(" + ", ".join(["?"] * len(cols)) + ")"
    assign = ", ".join(f"{c} = v.column{i}" for i, c in enumerate(cols[:n_set], start=1))
    match = " AND ".join(
        f"{table}.{c} = v.column{i}" for i, c in enumerate(cols, start=1) if i > n_set
    )
    values = ", ".join([group] * n)
    return f"UPDATE {table} SET {assign} FROM (VALUES {values}) AS v WHERE {match}"  # noqa: S608
