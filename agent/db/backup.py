"""``stampedge agent backup --to PATH`` and ``stampedge agent restore --from PATH``.

A backup is a consistent copy of the agent's database taken while the agent keeps taking checks
(SQLite's online backup: one snapshot, the WAL's pages included; ``sync.web.sqlite_backup``,
shared with ``stampedge cloud backup``), owner-only, never overwriting a file, with a report of
what it holds.

A restore puts such a copy back in place of ``agent.db``. It refuses:

- while anyone has the database open (the agent, ``stampedge queue``): they hold a shared
  ``flock`` on ``agent.db.lock`` (the kernel drops it with its process, however it ends), the
  restore takes it exclusively without waiting;
- a file that is not a sound agent database (``PRAGMA integrity_check``, the agent's tables);
- a file written by a newer release (its schema version is above this release's): this release
  would refuse to open it anyway, so putting it in place would only stop the till.

The copy is made and checked as ``agent.db.partial`` first; the file it replaces (with its WAL
folded in when it can still be read) is kept as ``agent.db.before-restore``; only then is the copy
renamed over ``agent.db`` in one step. Whatever happens, ``agent.db`` is the old file or the
restored one, never half of either. An older backup is fine: the agent migrates it when it starts.
"""

import contextlib
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.db.lock import hold_exclusive, lock_path, release
from agent.db.schema import SCHEMA_VERSION
from config import ConfigError
from sync.web.sqlite_backup import backup_file, checked, copy_snapshot, fsync_path, partial_path

BEFORE_RESTORE = ".before-restore"
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Contents:
    """What an agent database holds, as the backup and restore reports show it."""

    schema_version: int
    orders: int
    outbox: dict[str, int]  # rows per state: pending, sent, acked, dead
    print_jobs: int


def _contents(conn: sqlite3.Connection, what: str) -> Contents:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    try:
        orders, jobs = (
            int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # noqa: S608  # constants
            for t in ("orders", "print_jobs")
        )
        states = dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    except sqlite3.OperationalError as err:
        raise ConfigError(f"{what}: not a Stampedge agent database ({err})") from err
    outbox = {s: int(states.get(s, 0)) for s in ("pending", "sent", "acked", "dead")}
    return Contents(version, orders, outbox, jobs)


def backup_agent_db(database: Path, target: Path) -> dict[str, Any]:
    """Copy the agent's database to the new file ``target``; the report (JSON-ready)."""
    found = backup_file(
        database, target, what="agent backup", describe=lambda c: _contents(c, "agent backup")
    )
    return {"backup": str(target), "bytes": target.stat().st_size, **asdict(found)}


def restore_agent_db(database: Path, source: Path) -> dict[str, Any]:
    """Put the backup ``source`` in place of the agent's database (see the module's text)."""
    what = "agent restore"
    if not source.is_file():
        raise ConfigError(f"{what}: {source}: no such file")
    if not database.parent.is_dir():
        raise ConfigError(f"{what}: {database.parent}: no such directory (agent.data_dir)")
    kept = database.with_name(database.name + BEFORE_RESTORE)
    if kept.exists():
        raise ConfigError(f"{what}: {kept} is there from an earlier restore: move it away first")
    hold = hold_exclusive(database)
    partial = partial_path(database)
    try:
        _owned_like_folder(lock_path(database))
        partial.unlink(missing_ok=True)  # left by a restore that died mid-way
        try:
            copy_snapshot(source, partial)
        except sqlite3.DatabaseError as err:
            raise ConfigError(f"{what}: {source} is not a sound SQLite database ({err})") from err
        found = checked(partial, what=what, describe=lambda c: _contents(c, what), name=source)
        if found.schema_version > SCHEMA_VERSION:
            raise ConfigError(
                f"{what}: {source} has schema version {found.schema_version}, newer than this "
                f"release knows ({SCHEMA_VERSION}): restore it with the release that made it"
            )
        _owned_like_folder(partial)
        fsync_path(partial)
        replaced = _keep_current(database, kept)
        os.replace(partial, database)
        fsync_path(database.parent)
    finally:
        partial.unlink(missing_ok=True)
        release(hold)
    return {
        "restored": str(database),
        "from": str(source),
        "before_restore": str(kept) if replaced else None,
        **asdict(found),
    }


def _owned_like_folder(path: Path) -> None:
    """Run as root (``sudo stampedge agent restore``), give ``path`` to the data folder's owner:
    a restored file or lock file owned by root would stop the service's user from opening it."""
    if os.geteuid() != 0:
        return
    folder = path.parent.stat()
    os.chown(path, folder.st_uid, folder.st_gid)


def _keep_current(database: Path, kept: Path) -> bool:
    """Keep the file about to be replaced as ``kept`` (its WAL folded in when it still opens,
    else beside it as ``kept-wal``); its ``-wal`` and ``-shm`` are gone afterwards, so that the
    restored file never meets another file's log. False when there was no file."""
    if not database.exists():
        return False
    with contextlib.suppress(sqlite3.Error):  # a damaged file is kept as it is
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    os.link(database, kept)
    wal = database.with_name(database.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        os.link(wal, kept.with_name(kept.name + "-wal"))
    fsync_path(kept)
    fsync_path(database.parent)
    for suffix in _SIDE_FILES:
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    return True
