"""The storage contract both backends implement: transactions that run ``?``-style SQL.

The store's logic (``tenancy.py``, ``batch_io.py``, ``claims.py``, ``figures.py``) is written
once against ``Tx``; ``sqlite.py`` (sqlite3, each connection on its own thread) and
``postgres.py`` (asyncpg) implement ``Db``. Dialect differences stay in a few fragments: DDL
(``schema.py``) and membership in a list passed as one parameter (``tx.in_int`` /
``tx.in_text`` with ``tx.array(values)``).

Concurrency contract: ``Db.write(business_id)`` gives a transaction in which no other write of
the same business runs, in this process or any other process on the same database (SQLite: one
writer connection behind a lock and ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory
lock on the business id). Read-check-write logic (claims, redeems, batches) relies on it, and the
unique keys (event id, receipt QR, reward code) stay as the last line of defence.
"""

import abc
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

Row = Any  # sqlite3.Row or asyncpg.Record: both index by position and by column name
Params = Sequence[Any]


class Tx(abc.ABC):
    """One open transaction (or a read-only connection)."""

    in_int: str  # "IN (SELECT value FROM json_each(?))" or "= ANY(?::bigint[])"
    in_text: str

    @abc.abstractmethod
    def array(self, values: Sequence[Any]) -> Any:
        """The parameter value for ``in_int``/``in_text``."""

    @abc.abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """All rows."""

    @abc.abstractmethod
    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row or ``None``."""

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or ``None``."""
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    @abc.abstractmethod
    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for many parameter rows (no-op for none)."""

    async def pipeline(
        self, fetches: Sequence[tuple[str, Params]], writes: Sequence[tuple[str, Sequence[Params]]]
    ) -> list[list[Row]]:
        """``fetch`` each ``(sql, args)``, then ``executemany`` each ``(sql, rows)``, in that
        order; the fetches' rows. A backend may send them all before waiting for the first
        answer (SQLite: its one worker thread runs them back to back). The first error is
        raised once all have run or failed (the caller's transaction then rolls back)."""
        rows = [await self.fetch(sql, *args) for sql, args in fetches]
        for sql, many in writes:
            await self.executemany(sql, many)
        return rows

    async def fetch_each(self, queries: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        """``pipeline`` of reads only."""
        return await self.pipeline(queries, ())

    async def executemany_each(self, work: Sequence[tuple[str, Sequence[Params]]]) -> None:
        """``pipeline`` of writes only."""
        await self.pipeline((), work)

    async def announce(self, channel: str, payload: str) -> None:  # noqa: B027 (see below)
        """Tell every process listening on ``channel`` (``Db.listen``) when this transaction
        commits (PostgreSQL: ``NOTIFY``); a backend other processes cannot listen to does
        nothing."""


class Db(abc.ABC):
    """A database: write transactions serialized per business, reads, migrations."""

    dialect: str

    @abc.abstractmethod
    def write(self, business_id: int) -> AbstractAsyncContextManager[Tx]:
        """A write transaction; writes of one business never interleave (see module docs)."""

    @abc.abstractmethod
    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A connection for reading committed data."""

    def connections(self) -> tuple[int, int]:
        """Pooled connections open and in use (``/metrics``); ``(0, 0)`` without a pool."""
        return 0, 0

    def wrote(self, rows: int) -> None:  # noqa: B027 (most backends need nothing)
        """``rows`` ledger rows were just committed (a backend may keep its planner's
        statistics up with the growth)."""

    async def forget_old_versions(self) -> None:  # noqa: B027 (most backends need nothing)
        """Make rows just overwritten or deleted unreadable from the database's files (after an
        erasure): old page images in a write-ahead log, dead row versions."""

    async def listen(
        self, channel: str, heard: Callable[[str], None], trusted: Callable[[bool], None]
    ) -> bool:
        """Call ``heard(payload)`` for each ``Tx.announce`` on ``channel`` committed by any
        process, and ``trusted(False)`` while announcements could be missed (the listening
        connection lost), ``trusted(True)`` once they cannot again. ``False``: this backend
        has no such thing (nothing is called)."""
        del channel, heard, trusted
        return False

    async def notify(self, channel: str, payload: str) -> None:  # noqa: B027 (see below)
        """Tell every process listening on ``channel`` (``listen``) now, outside any
        transaction (PostgreSQL: ``pg_notify``); a backend other processes cannot listen to
        does nothing."""

    @abc.abstractmethod
    async def migrate(self, migrations: Sequence[Sequence[str]]) -> int:
        """Apply the migrations not yet applied (version = index + 1); the schema version."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every connection."""
