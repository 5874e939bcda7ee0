"""What the agent's end of sync needs from the agent's database: a Protocol the agent implements.

The agent owns its SQLite file (``agent.db``); the outbox and the state pull only run their
statements through it. Failures are raised as ``sync.edge.errors.SyncError`` (``OutboxFullError``
when the disk is full), which the agent's database errors subclass.
"""

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

Stmt = tuple[str, tuple[Any, ...]]
T = TypeVar("T")


class Storage(Protocol):
    """Durable writes in one transaction, reads beside them, and a signal after each commit."""

    async def write(self, stmts: Sequence[Stmt]) -> Any:
        """Run ``stmts`` in one durable transaction; returns after the commit."""
        ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query."""
        ...

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The first row of a read-only query, or None."""
        ...

    def subscribe(self) -> asyncio.Event:
        """An event set after every commit that stored something."""
        ...

    async def on_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the writer's thread, between two commits (maintenance)."""
        ...
