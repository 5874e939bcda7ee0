"""The agent's SQLite database: the file, the group-commit writer, every table, its migrations.

``AgentDb`` implements what the libraries ask of storage (``sync.edge.storage.Storage``,
``printers.store.JobStore``); its errors subclass theirs (``agent.db.errors``).
"""

from pathlib import Path

from agent.db.database import AgentDb
from agent.db.errors import DatabaseTooNew, DbError, DiskFullError
from agent.db.lock import DatabaseBusy
from agent.db.schema import SCHEMA_VERSION
from agent.db.writer import Guard, KeyGuard
from sync.edge import outbox
from sync.edge.storage import Stmt


async def open_agent_db(path: Path) -> AgentDb:
    """The agent's database at ``path``, migrated, with the outbox's crash recovery run."""
    return await AgentDb.open(path, on_open=outbox.ON_OPEN)


__all__ = [
    "SCHEMA_VERSION",
    "AgentDb",
    "DatabaseBusy",
    "DatabaseTooNew",
    "DbError",
    "DiskFullError",
    "Guard",
    "KeyGuard",
    "Stmt",
    "open_agent_db",
]
