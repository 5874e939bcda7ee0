"""Statements of many rows on SQLite (``sqlite_thread.write_many``): rows sent as a few padded
statements land exactly as ``executemany`` would put them, and the padding rows change nothing,
not even rows whose keys are 0 (the value padding rows carry beside their one NULL); their
statement journals stay in memory."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sync.cloud.store.sqlite import SqliteDb
from sync.cloud.store.sqlite_thread import write_many

INSERT = "INSERT INTO t (k, a, b) VALUES (?, ?, ?)"
UPSERT = "INSERT INTO t (k, a, b) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET a = excluded.a"
UPDATE = "UPDATE t SET a = ?, b = ? WHERE k = ? AND g = ?"


def _conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, g INTEGER NOT NULL DEFAULT 0, a, b)")
    return conn


def _rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT k, g, a, b FROM t ORDER BY k").fetchall()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 255, 257, 300])
def test_given_n_rows_when_inserted_in_bulk_then_the_table_holds_exactly_them(n: int) -> None:
    bulk, plain = _conn(), _conn()
    rows = [(i, f"a{i}", None if i % 3 else i) for i in range(n)]
    write_many(bulk, INSERT, rows)
    plain.executemany(INSERT, rows)
    assert _rows(bulk) == _rows(plain)
    assert len(_rows(bulk)) == n


def test_given_an_upsert_when_padded_then_no_row_with_key_0_or_nulls_appears() -> None:
    conn = _conn()
    conn.execute("INSERT INTO t (k, a, b) VALUES (5, 'old', 'old')")
    write_many(conn, UPSERT, [(5, "new", "x"), (6, "six", None), (7, "seven", 7)])  # pads to 4
    assert _rows(conn) == [(5, 0, "new", "old"), (6, 0, "six", None), (7, 0, "seven", 7)]


@pytest.mark.parametrize("n", [3, 5, 130])
def test_given_rows_keyed_0_when_others_are_updated_in_bulk_then_they_stay(n: int) -> None:
    """Given rows whose keys are 0 and rows to update, when ``n`` updates are sent (padded to a
    power of two), then exactly the named rows change."""
    conn = _conn()
    conn.executemany("INSERT INTO t (k, g, a, b) VALUES (?, 0, 'keep', 'keep')", [(0,), (-1,)])
    conn.executemany(
        "INSERT INTO t (k, g, a, b) VALUES (?, 0, 'old', 'old')", [(i,) for i in range(1, n + 1)]
    )
    write_many(conn, UPDATE, [(f"new{i}", None, i, 0) for i in range(1, n + 1)])
    got = _rows(conn)
    assert got[:2] == [(-1, 0, "keep", "keep"), (0, 0, "keep", "keep")]
    assert got[2:] == [(i, 0, f"new{i}", None) for i in range(1, n + 1)]


def test_given_the_store_on_sqlite_then_every_connection_keeps_temporary_data_in_memory(
    tmp_path: Path,
) -> None:
    """Statement journals of many-row statements stay off the disk (``PRAGMA temp_store``)."""

    async def check() -> None:
        db = await SqliteDb.open(str(tmp_path / "cloud.db"))
        try:
            for conn in (db._writer, db._reader, db._spare):
                got = await conn.submit(lambda c: c.execute("PRAGMA temp_store").fetchone()[0])
                assert got == 2  # MEMORY
        finally:
            await db.close()

    asyncio.run(check())
