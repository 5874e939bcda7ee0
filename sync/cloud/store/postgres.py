"""The PostgreSQL backend (asyncpg): a pool; writes of one business serialized by an advisory lock.

Several cloud processes may share one database: ``pg_advisory_xact_lock(business_id)`` makes the
read-check-write of a batch, a claim or a redeem atomic across all of them, and the lock is
released with the transaction, also when a process dies mid-way.
"""

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from sync.cloud.store.db import Db, Params, Row, Tx

_MIGRATION_LOCK = 0x5354_4D50  # "STMP": one migrating process at a time
_QMARK = re.compile(r"\?")


@lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, ...`` (our SQL has no ``?`` inside literals)."""
    counter = iter(range(1, 10_000))
    return _QMARK.sub(lambda _: f"${next(counter)}", sql)


class PgTx(Tx):
    """Statements on one asyncpg connection."""

    in_int = "= ANY(?::bigint[])"
    in_text = "= ANY(?::text[])"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def array(self, values: Sequence[Any]) -> Any:
        return list(values)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return list(await self._conn.fetch(_numbered(sql), *args))

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self._conn.fetchrow(_numbered(sql), *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(_numbered(sql), *args)

    async def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            await self._conn.executemany(_numbered(sql), rows)


class PgDb(Db):
    """A PostgreSQL database through a connection pool."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 2, max_size: int = 10) -> "PgDb":
        """Connect a pool to ``dsn``."""
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        return cls(pool)

    @asynccontextmanager
    async def write(self, business_id: int) -> AsyncIterator[Tx]:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", business_id)
            yield PgTx(conn)

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

    async def close(self) -> None:
        await self._pool.close()
