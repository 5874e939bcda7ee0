"""Many rows in one statement (``Tx.executemany``) on both backends: awkward text, NULLs and
large integers come back exactly as sent, through an INSERT and a keyed UPDATE alike (on
PostgreSQL the rows travel as one JSON array; on SQLite as padded many-row statements)."""

from typing import Any

from sync.cloud.store import open_db

ROWS: list[tuple[Any, ...]] = [
    ("plain", 1, None),
    ('quote " backslash \\ slash /', -(2**63), "x"),
    ("Café crème 中文 😀 \u2028 tab\tnew\nline", 2**63 - 1, ""),
    ("", 0, '{"json": [1, "text"]}'),
    ("ends with \\", None, "null"),
]


async def test_given_awkward_rows_when_written_in_bulk_then_they_read_back_as_sent(
    store_url: str,
) -> None:
    db = await open_db(store_url)
    try:
        async with db.write(1) as tx:
            await tx.execute("CREATE TABLE bulk_t (k TEXT PRIMARY KEY, n BIGINT, t TEXT)")
            await tx.executemany("INSERT INTO bulk_t (k, n, t) VALUES (?, ?, ?)", ROWS)
        async with db.read() as tx:
            got = [tuple(r) for r in await tx.fetch("SELECT k, n, t FROM bulk_t ORDER BY k")]
        assert got == sorted(ROWS, key=lambda r: r[0])
        changed = [(r[2], (r[1] or 0) // 2, r[0]) for r in ROWS]
        async with db.write(1) as tx:
            await tx.executemany("UPDATE bulk_t SET t = ?, n = ? WHERE k = ?", changed)
        async with db.read() as tx:
            got = [tuple(r) for r in await tx.fetch("SELECT k, n, t FROM bulk_t ORDER BY k")]
        assert got == sorted([(k, n, t) for t, n, k in changed], key=lambda r: r[0])
    finally:
        await db.close()
