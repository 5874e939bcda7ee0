"""``stampedge cloud backup --config cloud.toml --to PATH``: a consistent copy of the embedded
SQLite store, taken while the cloud keeps serving.

Copying ``cloud.db`` with ``cp`` while the cloud runs can give a broken file: the newest commits
live in ``cloud.db-wal`` until a checkpoint, and the two files change under the copy. SQLite's
online backup copies every page of one snapshot instead (one read transaction: what was
committed when it began, nothing half-written). In WAL mode a reader never blocks the writer,
so agents keep syncing meanwhile.

The copy is written beside ``PATH`` as ``PATH.partial``, checked (``PRAGMA integrity_check``),
flushed to disk and only then renamed to ``PATH``: a crash or a full disk never leaves a
half-written backup under the name asked for (``sync.web.sqlite_backup``, shared with
``stampedge agent backup``). An existing ``PATH`` is never overwritten. The copy
holds the devices' receipt-signing secrets, so only its owner may read it (mode 0600, as the
agent configs ``cloud init`` writes).
To restore: stop the cloud, put the backup in place of ``cloud.db`` (removing any
``cloud.db-wal`` and ``cloud.db-shm`` beside it), start the cloud.

On PostgreSQL this refuses and points at ``pg_dump``, PostgreSQL's own consistent backup.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from config import ConfigError
from sync.web.sqlite_backup import backup_file


@dataclass(frozen=True)
class Backup:
    """What a backup wrote."""

    path: Path
    bytes: int
    schema_version: int
    events: int
    customers: int


def backup_store(database_url: str, target: Path) -> Backup:
    """Copy the SQLite store at ``database_url`` to ``target`` (see the module's text)."""
    if not database_url.startswith("sqlite:///"):
        raise ConfigError(
            "cloud backup copies the embedded SQLite store; back up PostgreSQL with pg_dump"
        )
    source = Path(database_url.removeprefix("sqlite:///"))

    def describe(conn: sqlite3.Connection) -> Backup:
        try:
            version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
            events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            customers = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        except sqlite3.OperationalError as err:
            raise ConfigError(f"cloud backup: not a Stampedge cloud store ({err})") from err
        size = Path(conn.execute("PRAGMA database_list").fetchone()[2]).stat().st_size
        return Backup(target, size, int(version or 0), events, customers)

    return backup_file(source, target, what="cloud backup", describe=describe)
