"""The agent database's writer side: one thread owning the writer connection, and the group commit
it runs (guards, runs of same-shaped requests as one multi-row statement, one ``COMMIT`` per
group).

Why so few statements: a group is ``BEGIN``, one guard query per kind, one statement per kind
of row, ``COMMIT``, whatever its size. When all of it ran on the writer's thread, each statement
step let go of the GIL and waited to take it back from the busy event loop; now the loop's
thread stages the group and only the ``COMMIT`` crosses over, but fewer statements are still
less work per group.
"""

import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.db.schema import migrate
from sync.edge.storage import Stmt
from sync.web.worker_thread import WorkerThread

# How long the writer's thread waits for another process's write lock (never the loop).
BUSY_WAIT_MS = 5000
# SQLite's default limit on host parameters (3.32+) is 32766; stay well below it.
MAX_PARAMS = 30000


@dataclass(frozen=True, slots=True)
class KeyGuard:
    """A guard that looks ``key`` up in ``table.column``; the guards of one kind in a group are
    answered by one query. ``table``, ``column`` and ``select`` are the caller's constants,
    never input; the key is a bound parameter."""

    table: str
    column: str
    select: str
    key: str

    def sql(self, *, many: bool = False) -> str:
        """The lookup of this key, or (``many``) of a JSON array of keys of this kind."""
        match = "IN (SELECT value FROM json_each(?))" if many else "= ?"
        return f"SELECT {self.column}, {self.select} FROM {self.table} WHERE {self.column} {match}"  # noqa: S608


Guard = Stmt | KeyGuard


def open_writer(path: Path, on_open: list[Stmt]) -> sqlite3.Connection:
    """The writer's connection, made on the writer's thread (the database's lock keeps the
    loop's thread and the writer's thread from ever using it at once); the file is migrated to
    this release's schema and ``on_open`` runs in the same transaction (its folder is made
    here too: this thread may touch the disk, the event loop's may not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    # deleted and overwritten rows are zeroed, not left in free space: an erased customer's
    # names must leave the file (issue #19, ``sync.edge.erasure``)
    db.execute("PRAGMA secure_delete = ON")
    db.execute("BEGIN IMMEDIATE")
    try:
        migrate(db)
        for sql, params in on_open:
            db.execute(sql, params)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        db.close()
        raise
    # From here on the event loop's thread tries the lock without waiting (see run_group).
    db.execute("PRAGMA busy_timeout = 0")
    return db


Request = tuple[Guard | None, list[Stmt]]


async def run_group(
    pool: WorkerThread, db: sqlite3.Connection, reqs: list[Request]
) -> list[sqlite3.Row | None]:
    """One transaction for a whole group: staged on the calling (event loop) thread, committed
    on the writer's thread.

    Staging is CPU work on pages in memory, quick and uncontended where the GIL already is;
    only ``COMMIT`` waits for the disk (the fsync), so only it goes to the thread, and the
    event loop serves requests meanwhile. ``BEGIN IMMEDIATE`` is tried without waiting; if
    another process holds the write lock, the whole group goes to the thread, which may wait
    for it (the loop must never block on a lock).
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        if db.in_transaction or "locked" not in str(err):
            raise
        return await pool.call(apply_group, db, reqs, BUSY_WAIT_MS)
    try:
        found = _stage(db, reqs)
    except BaseException:
        if db.in_transaction:  # SQLite may have rolled back already (a full disk does)
            db.execute("ROLLBACK")
        raise
    await pool.call(_commit, db)
    return found


def _commit(db: sqlite3.Connection) -> None:
    try:
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def apply_group(
    db: sqlite3.Connection, reqs: list[Request], busy_wait_ms: int = 0
) -> list[sqlite3.Row | None]:
    """One transaction for a whole group of requests, all on the calling thread (the writer's
    thread when another process holds the lock: it may wait ``busy_wait_ms`` for it)."""
    if busy_wait_ms:
        db.execute(f"PRAGMA busy_timeout = {int(busy_wait_ms)}")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        if busy_wait_ms:
            db.execute("PRAGMA busy_timeout = 0")
    try:
        found = _stage(db, reqs)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return found


def _stage(db: sqlite3.Connection, reqs: list[Request]) -> list[sqlite3.Row | None]:
    """Inside an open transaction: the guards, then the statements of the requests whose guard
    found nothing, in order; consecutive requests with the same statements go as one multi-row
    statement per statement (or ``executemany`` where it is not a plain ``INSERT ... VALUES``).
    """
    found = _guards(db, [guard for guard, _ in reqs])
    run: list[list[Stmt]] = []
    for (_, stmts), row in zip(reqs, found, strict=True):
        if row is not None or not stmts:
            continue
        if run and _shape(run[0]) != _shape(stmts):
            _execute_run(db, run)
            run = []
        run.append(stmts)
    if run:
        _execute_run(db, run)
    return found


def _guards(db: sqlite3.Connection, guards: Sequence[Guard | None]) -> list[sqlite3.Row | None]:
    found: list[sqlite3.Row | None] = [None] * len(guards)
    keyed: dict[tuple[str, str, str], list[tuple[int, KeyGuard]]] = {}
    for i, guard in enumerate(guards):
        if isinstance(guard, KeyGuard):
            keyed.setdefault((guard.table, guard.column, guard.select), []).append((i, guard))
        elif guard is not None:
            found[i] = db.execute(*guard).fetchone()
    for kind in keyed.values():
        first = kind[0][1]
        if len(kind) == 1:
            found[kind[0][0]] = db.execute(first.sql(), (first.key,)).fetchone()
            continue
        rows = db.execute(first.sql(many=True), (json.dumps([g.key for _, g in kind]),))
        by_key = {row[0]: row for row in rows}
        for i, guard in kind:
            found[i] = by_key.get(guard.key)
    return found


def _shape(stmts: list[Stmt]) -> tuple[str, ...]:
    return tuple(sql for sql, _ in stmts)


# ``INSERT ... VALUES (?, ..., ?)`` with an optional tail (``ON CONFLICT ... DO NOTHING``).
_VALUES = re.compile(r"(?s)(INSERT\b.*?\bVALUES\s*)(\(\s*\?(?:\s*,\s*\?)*\s*\))(.*)")


def _execute_run(db: sqlite3.Connection, run: list[list[Stmt]]) -> None:
    """Statement i of every request in the run as one statement."""
    if len(run) == 1:
        for sql, params in run[0]:
            db.execute(sql, params)
        return
    for i, (sql, params) in enumerate(run[0]):
        rows = [req[i][1] for req in run]
        match = _VALUES.fullmatch(sql)
        if match is None or not params:
            db.executemany(sql, rows)
            continue
        head, values, tail = match.groups()
        at = 0
        for size in _chunks(len(rows), max(1, MAX_PARAMS // len(params))):
            flat = [value for row in rows[at : at + size] for value in row]
            db.execute(head + ", ".join([values] * size) + tail, flat)
            at += size


def _chunks(n: int, most: int) -> list[int]:
    """``n`` as a few chunk sizes that are powers of two (at most ``most``), largest first, so
    the connection's statement cache holds a handful of texts, not one per group size."""
    sizes = []
    size = 1 << (most.bit_length() - 1)
    while n:
        while size > n:
            size >>= 1
        sizes.append(size)
        n -= size
    return sizes
