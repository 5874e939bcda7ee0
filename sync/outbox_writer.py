"""The outbox's writer side: one thread owning the writer connection, and the group commit
it runs (guards, runs of same-shaped requests as ``executemany``, one ``COMMIT`` per group)."""

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Stmt = tuple[str, tuple[Any, ...]]
T = TypeVar("T")


class WriterThread:
    """The one thread that owns the writer's connection.

    A plain thread and a ``SimpleQueue``: a hand-off costs far less main-thread time than
    ``ThreadPoolExecutor.submit``, and this runs once per group commit.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Any] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._main, name="outbox-writer", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the thread; its result or exception comes back here."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, args, (loop, fut)))
        return await fut

    def stop(self) -> None:
        """Let queued jobs finish, then end the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _main(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, (loop, fut) = job
            try:
                result = fn(*args)
            except BaseException as err:  # noqa: BLE001 - handed to the awaiting task
                loop.call_soon_threadsafe(_settle, fut, None, err)
            else:
                loop.call_soon_threadsafe(_settle, fut, result, None)


def _settle(fut: "asyncio.Future[Any]", result: Any, err: BaseException | None) -> None:
    if fut.cancelled():
        return
    if err is not None:
        fut.set_exception(err)
    else:
        fut.set_result(result)


def open_writer(path: Path, schema: list[str]) -> sqlite3.Connection:
    """The writer's connection, made on (and only ever used from) the writer's thread."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("BEGIN IMMEDIATE")
    try:
        for ddl in schema:
            db.execute(ddl)
        # Events left 'sent' by a crash have an unknown outcome: send them again
        # (the cloud is idempotent on event ids).
        db.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sent'")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        db.close()
        raise
    return db


def apply_group(
    db: sqlite3.Connection, reqs: list[tuple[Stmt | None, list[Stmt]]]
) -> list[sqlite3.Row | None]:
    """One transaction for a whole group of requests, on the writer's thread.

    Requests whose guard finds a row are skipped. The rest run in order; consecutive requests
    with the same statements go as one ``executemany`` per statement, which keeps each
    request's own order and keeps the thread's Python work (and GIL hand-offs) per group small.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        found = [db.execute(*guard).fetchone() if guard is not None else None for guard, _ in reqs]
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
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return found


def _shape(stmts: list[Stmt]) -> tuple[str, ...]:
    return tuple(sql for sql, _ in stmts)


def _execute_run(db: sqlite3.Connection, run: list[list[Stmt]]) -> None:
    """Statement i of every request in the run as one executemany."""
    if len(run) == 1:
        for sql, params in run[0]:
            db.execute(sql, params)
        return
    for i, (sql, _) in enumerate(run[0]):
        db.executemany(sql, [req[i][1] for req in run])
