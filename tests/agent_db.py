"""Tests' handle on an agent database: the outbox's operations plus the database's own."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.db import AgentDb, open_agent_db
from sync.edge.outbox import Outbox


class Box(Outbox):
    """An ``Outbox`` that owns its ``AgentDb`` (closing one closes the other); anything else
    (``write`` with a guard, ``integrity_check``, ``path``, counters) is the database's."""

    db: AgentDb

    async def write(self, stmts: Any, **kw: Any) -> Any:
        return await self.db.write(stmts, **kw)

    async def close(self) -> None:
        await self.db.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


async def open_box(path: Path, *, extra_schema: Iterable[str] = ()) -> Box:
    """The agent's database at ``path`` (migrated), plus ``extra_schema`` tables for a test."""
    db = await open_agent_db(path)
    if extra_schema:
        await db.write([(ddl, ()) for ddl in extra_schema])
    return Box(db)
