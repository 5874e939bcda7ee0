"""The PostgreSQL backend (asyncpg): a pool; writes of one business serialized by an advisory lock.

Several cloud processes may share one database: ``pg_advisory_xact_lock(business_id)`` makes the
read-check-write of a batch, a claim or a redeem atomic across all of them, and the lock is
released with the transaction, also when a process dies mid-way.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson

from sync.cloud.store.db import Db, Params, Row, Tx
from sync.cloud.store.pg_text import (
    INSERT_RE,
    UPDATE_RE,
    begin_locked,
    json_column,
    numbered,
    reads_together,
    renumbered,
    written_table,
)

log = logging.getLogger(__name__)

RELISTEN_S = 2.0  # between tries to listen again after the listening connection was lost
_MIGRATION_LOCK = 0x5354_4D50  # "STMP": one migrating process at a time
# Ledger rows this process writes before it first has the ledger's tables analyzed; then again
# each time its total doubles.
ANALYZE_FIRST = 5_000
_LEDGER_TABLES = "events, orders, receipt_qrs, entries, customers, rewards, tallies"
_BULK: dict[str, str | None] = {}  # single-row statement -> its one-statement form (JSON rows)


class PgTx(Tx):
    """Statements on one asyncpg connection."""

    in_int = "= ANY(?::bigint[])"
    in_text = "= ANY(?::text[])"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def array(self, values: Sequence[Any]) -> Any:
        return list(values)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(numbered(sql), *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._conn.fetchrow(numbered(sql), *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(numbered(sql), *args)

    async def pipeline(
        self, fetches: Sequence[tuple[str, Params]], writes: Sequence[tuple[str, Sequence[Params]]]
    ) -> list[list[Row]]:
        """The fetches in one round trip when each is a plain ``SELECT a, b FROM ...`` (each
        one's rows come back as a JSON array of arrays, read by position as every caller does),
        then the writes."""
        combined = await self._one_statement(fetches, writes)
        if combined is not None:
            return combined
        together = reads_together(tuple(sql for sql, _ in fetches)) if len(fetches) > 1 else None
        if together is None:
            rows = [await self.fetch(sql, *args) for sql, args in fetches]
        else:
            got = await self._conn.fetchrow(together, *[v for _, args in fetches for v in args])
            rows = [orjson.loads(text) for text in got]
        for sql, many in writes:
            await self.executemany(sql, many)
        return rows

    async def _one_statement(
        self, fetches: Sequence[tuple[str, Params]], writes: Sequence[tuple[str, Sequence[Params]]]
    ) -> list[list[Row]] | None:
        """At most one fetch and writes to distinct tables as one statement: each write's
        one-statement form (``_bulk``) in a ``WITH``, the fetch (or ``SELECT 1``) last; ``None``
        when they do not fit (then they go one by one).

        It gives what running them in turn gives: the fetch runs first there, and here sees the
        statement's snapshot, from before the writes; a write could only see an earlier one's
        rows in its own table, and each table is written once. Foreign keys are checked at the
        statement's end. A small batch's reservation of card numbers and its four or five
        inserts go in one round trip instead of five or six."""
        writes = [(sql, rows) for sql, rows in writes if rows]
        if len(fetches) > 1 or len(writes) + len(fetches) < 2:
            return None
        tables = [written_table(sql) for sql, _ in writes]
        if None in tables or len(set(tables)) != len(tables):
            return None
        if fetches and written_table(fetches[0][0]) in tables:
            return None
        parts: list[str] = []
        params: list[Any] = []
        for sql, rows in writes:
            bulk = await self._bulk(sql)
            if bulk is None:
                return None
            if bulk.startswith("INSERT"):
                try:
                    values: list[Any] = [orjson.dumps(rows).decode()]
                except orjson.JSONEncodeError:
                    return None
            else:
                values = [list(column) for column in zip(*rows, strict=True)]
            parts.append(renumbered(bulk, len(params)))
            params.extend(values)
        last = "SELECT 1"
        if fetches:
            last = renumbered(numbered(fetches[0][0]), len(params))
            params.extend(fetches[0][1])
        ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
        got = await self._conn.fetch(f"WITH {ctes} {last}", *params)
        return [list(got)] if fetches else []

    async def announce(self, channel: str, payload: str) -> None:
        await self._conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Many rows; an ``INSERT ... VALUES`` goes as one statement over the rows sent as one
        JSON array, a keyed ``UPDATE`` as one over ``unnest`` arrays (one round trip instead of
        one per row), anything else row by row.

        JSON, not an array parameter per column: asyncpg checks every element of an array
        parameter with ``isinstance`` against ``collections.abc`` classes (a Python call
        each): the 15,000-odd values a batch inserts cost the event loop about 4 ms, under the
        business's lock. ``orjson`` writes the same values in well under one.
        """
        if not rows:
            return
        bulk = await self._bulk(sql) if len(rows) > 1 else None
        if bulk is not None and not bulk.startswith("INSERT"):
            await self._conn.execute(bulk, *[list(column) for column in zip(*rows, strict=True)])
            return
        if bulk is not None:
            try:
                data = orjson.dumps(rows).decode()
            except orjson.JSONEncodeError:
                pass  # a value JSON cannot carry: row by row below
            else:
                await self._conn.execute(bulk, data)
                return
        await self._conn.executemany(numbered(sql), rows)

    async def _bulk(self, sql: str) -> str | None:
        if sql in _BULK:
            return _BULK[sql]
        match = INSERT_RE.match(sql.strip())
        plan = None
        update = UPDATE_RE.match(sql.strip())
        if update is not None:
            plan = await self._bulk_update(sql, *update.groups())
        elif match is not None:
            head, values, tail = match.groups()
            items = [v.strip() for v in values.split(",")]
            stmt = await self._conn.prepare(numbered(sql))
            types = [t.name for t in stmt.get_parameters()]
            pos = iter(range(len(types)))
            exprs = [json_column(next(pos), types) if item == "?" else item for item in items]
            plan = (  # our own SQL text and server-reported type names, no outside input
                f"{head} SELECT {', '.join(exprs)} FROM jsonb_array_elements($1::jsonb) AS e"  # noqa: S608
                f"{tail}"
            )
        _BULK[sql] = plan
        return plan

    async def _bulk_update(self, sql: str, table: str, sets: str, where: str) -> str | None:
        """``UPDATE t SET a = ?, ... WHERE k = ? AND ...`` as one ``UPDATE ... FROM unnest``."""
        pairs = [p.split("=") for p in sets.split(",")] + [
            p.split("=") for p in where.split(" AND ")
        ]
        if any(len(p) != 2 or p[1].strip() != "?" for p in pairs):
            return None
        stmt = await self._conn.prepare(numbered(sql))
        types = [t.name for t in stmt.get_parameters()]
        cols = [p[0].strip() for p in pairs]
        n_set = len(sets.split(","))
        params = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
        names = ", ".join(f"c{i}" for i in range(len(cols)))
        assign = ", ".join(f"{c} = u.c{i}" for i, c in enumerate(cols[:n_set]))
        match = " AND ".join(f"{table}.{c} = u.c{i}" for i, c in enumerate(cols) if i >= n_set)
        # (arrays, not JSON: the planner sees how many rows an array holds and looks each one
        # up by its key; it takes a JSON set for 100 rows and may scan the table instead)
        return f"UPDATE {table} SET {assign} FROM unnest({params}) AS u({names}) WHERE {match}"  # noqa: S608


@asynccontextmanager
async def _transaction(conn: asyncpg.Connection, begin: str) -> AsyncIterator[None]:
    """``begin`` (a ``BEGIN; ...`` text), then ``COMMIT``, or ``ROLLBACK`` on any error."""
    await conn.execute(begin)
    try:
        yield
    except BaseException:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            # (failing, the pool's release rolls back or drops the connection)
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's own (which rolls back a
    transaction left open and drops listeners).

    asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``, a
    round trip on every release: the store holds no session state to undo (its locks are
    ``xact`` locks, it listens on a connection of its own, opens no cursor outside a
    transaction and sets nothing after connecting)."""


class PgDb(Db):
    """A PostgreSQL database through a connection pool."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, dsn: str = "") -> None:
        self._pool = pool
        self._dsn = dsn
        self._listener: asyncpg.Connection | None = None
        # channel -> (heard, trusted) of each ``listen``
        self._channels: dict[str, tuple[Callable[[str], None], Callable[[bool], None]]] = {}
        self._relisten: asyncio.Task[None] | None = None
        self._closing = False
        self._written = 0
        self._analyze_at = ANALYZE_FIRST
        self._analyzing: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 2, max_size: int = 10) -> "PgDb":
        """Connect a pool to ``dsn``."""
        # Custom plans every time: a generic plan made while the tables were small keeps
        # scanning a whole business's orders after they have grown; a custom plan sees the
        # table's current size and uses both index columns.
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={"plan_cache_mode": "force_custom_plan"},
            reset=_keep_session,
        )
        return cls(pool, dsn)

    def connections(self) -> tuple[int, int]:
        return self._pool.get_size(), self._pool.get_size() - self._pool.get_idle_size()

    async def listen(
        self, channel: str, heard: Callable[[str], None], trusted: Callable[[bool], None]
    ) -> bool:
        """``LISTEN`` on a connection of its own (not the pool's), shared by every channel
        listened to; when it is lost, ``trusted(False)`` at once for each channel and a new one
        every ``RELISTEN_S`` until one listens to them all again."""
        self._channels[channel] = (heard, trusted)
        if self._listener is None:
            await self._connect_listener()
        else:
            await self._listener.add_listener(channel, self._on_notify)
            trusted(True)
        return True

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        found = self._channels.get(channel)
        if found is not None:
            found[0](payload)

    def _on_lost(self, _conn: Any) -> None:
        for _, trusted in self._channels.values():
            trusted(False)
        self._listener = None
        if not self._closing:
            self._relisten = asyncio.get_running_loop().create_task(self._listen_again())

    async def _connect_listener(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            for channel in self._channels:
                await conn.add_listener(channel, self._on_notify)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._on_lost)
        self._listener = conn
        for _, trusted in self._channels.values():
            trusted(True)

    async def _listen_again(self) -> None:
        while not self._closing:
            await asyncio.sleep(RELISTEN_S)
            try:
                await self._connect_listener()
            except (asyncpg.PostgresError, OSError) as err:
                log.warning("listening for other processes' changes failed again: %s", err)
            else:
                return

    async def notify(self, channel: str, payload: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    @asynccontextmanager
    async def write(self, business_id: int) -> AsyncIterator[Tx]:
        async with self.write_all([business_id]) as tx:
            yield tx

    @asynccontextmanager
    async def write_all(self, business_ids: Sequence[int]) -> AsyncIterator[Tx]:
        """``write`` for several businesses at once: their locks taken in ascending order, in
        one statement, so two such transactions never deadlock.

        ``BEGIN`` and the locks go in one round trip (``begin_locked``), and the transaction
        ends with ``COMMIT`` or, on any error, ``ROLLBACK``."""
        async with self._pool.acquire() as conn, _transaction(conn, begin_locked(business_ids)):
            yield PgTx(conn)

    @asynccontextmanager
    async def write_some(self, business_ids: Sequence[int]) -> AsyncIterator[tuple[Tx, set[int]]]:
        """A transaction for the first of ``business_ids`` (waiting for its lock) and for those
        of the others whose lock nobody holds now (never waiting for them); the ids it holds.

        ``group_commit.py``'s groups: with ``write_all`` two groups that shared one business
        waited for each other whole, and under load every group shares some business with
        another, so the groups of all processes ran one at a time (``bench/README.md``).
        Here a transaction waits only while it holds no lock, so none waits in a cycle."""
        first, rest = business_ids[0], sorted(set(business_ids) - {business_ids[0]})
        async with self._pool.acquire() as conn, _transaction(conn, begin_locked([first])):
            held = {first}
            if rest:
                got = await conn.fetchval(
                    "SELECT array_agg(b) FROM unnest($1::bigint[]) AS b "
                    "WHERE pg_try_advisory_xact_lock(b)",
                    rest,
                )
                held.update(got or ())
            yield PgTx(conn), held

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._pool.acquire() as conn:
            yield PgTx(conn)

    async def migrate(self, migrations: Sequence[Sequence[str]]) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)"
            )
            done = int(
                await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            )
            for version, statements in enumerate(migrations, start=1):
                if version <= done:
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, "
                    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
                    version,
                )
            return max(done, len(migrations))

    def wrote(self, rows: int) -> None:
        """Have the ledger's tables analyzed, in the background, once this process has written
        ``ANALYZE_FIRST`` rows and each time its total doubles.

        Autovacuum's first ANALYZE of a table can be a minute away. Until then PostgreSQL plans
        on an empty table's statistics, and a batch's order lookup reads the whole branch
        instead of probing the primary key for each order id: a store taking its first large
        drain ingested 4.7-5.5k events/s instead of 10-13k (``bench/cloud_ingest.py``). ANALYZE
        reads a sample and does not block writes."""
        self._written += rows
        if self._written < self._analyze_at or not (
            self._analyzing is None or self._analyzing.done()
        ):
            return
        self._analyze_at = 2 * self._written
        self._analyzing = asyncio.get_running_loop().create_task(self._analyze())

    async def _analyze(self) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.execute(f"ANALYZE {_LEDGER_TABLES}")
        except (asyncpg.PostgresError, OSError) as err:
            log.warning("analyzing the ledger's tables failed: %s", err)

    async def forget_old_versions(self) -> None:
        """Vacuum the tables an erasure rewrites: their dead row versions (the personal data as
        it was) are removed from the heap rather than left until autovacuum comes by."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "VACUUM customers, events, wallet_passes, wallet_registrations, wallet_pushes"
            )

    async def close(self) -> None:
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
            await asyncio.gather(self._relisten, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
        if self._analyzing is not None:
            await asyncio.gather(self._analyzing, return_exceptions=True)
        await self._pool.close()
