"""Where print jobs are kept: a Protocol the agent's database implements.

The printer side only runs its statements (``printers.jobs``) through it; the table itself is
created by the agent's migrations. Failures raise ``printers.errors.JobStoreError``.
"""

import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from printers.jobs import Stmt


class JobStore(Protocol):
    """Durable writes in one transaction and reads beside them."""

    async def write(self, stmts: Sequence[Stmt]) -> Any:
        """Run ``stmts`` in one durable transaction; returns after the commit."""
        ...

    async def fetchall(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read-only query."""
        ...

    async def fetchone(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        """The first row of a read-only query, or None."""
        ...
