"""``stampedge cloud backup --config cloud.toml --to PATH``: a consistent copy of the embedded
SQLite store, taken while the cloud keeps serving.

Copying ``cloud.db`` with ``cp`` while the cloud runs can give a broken file: the newest commits
live in ``cloud.db-wal`` until a checkpoint, and the two files change under the copy. SQLite's
online backup copies every page of one snapshot instead (one read transaction: what was
committed when it began, nothing half-written). In WAL mode a reader never blocks the writer,
so agents keep syncing meanwhile.

The copy is written beside ``PATH`` as ``PATH.partial``, checked (``PRAGMA integrity_check``),
flushed to disk and only then renamed to ``PATH``: a crash or a full disk never leaves a
half-written backup under the name asked for. An existing ``PATH`` is never overwritten. The copy
holds the devices' receipt-signing secrets, so only its owner may read it (mode 0600, as the
agent configs ``cloud init`` writes).
To restore: stop the cloud, put the backup in place of ``cloud.db`` (removing any
``cloud.db-wal`` and ``cloud.db-shm`` beside it), start the cloud.

On PostgreSQL this refuses and points at ``pg_dump``, PostgreSQL's own consistent backup.
"""

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from config import ConfigError

BUSY_TIMEOUT_S = 30.0  # opening the store while the cloud migrates or checkpoints


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
    if not source.is_file():
        raise ConfigError(f"cloud.database {source}: no such file")
    if target.exists():
        raise ConfigError(f"{target} exists: choose another name or remove it first")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent}: no such directory")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)  # left by a backup that died mid-way
    try:
        _copy(source, partial)
        result = _check(partial, target)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    except sqlite3.Error as err:
        raise ConfigError(f"cloud backup of {source} failed: {err}") from err
    finally:
        partial.unlink(missing_ok=True)
    return result


def _copy(source: Path, partial: Path) -> None:
    # mode=ro: the backup never writes to the live store (``-shm`` aside, as any reader)
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        # an empty file is an empty database; made first so that it is never readable by others
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one snapshot
        finally:
            dst.close()
    finally:
        src.close()


def _check(partial: Path, target: Path) -> Backup:
    conn = sqlite3.connect(partial)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise ConfigError(f"cloud backup: the copy fails its check: {'; '.join(problems[:3])}")
        try:
            version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
            events = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            customers = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
        except sqlite3.OperationalError as err:
            raise ConfigError(f"cloud backup: not a Stampedge cloud store ({err})") from err
    finally:
        conn.close()
    return Backup(target, partial.stat().st_size, int(version or 0), events, customers)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems refuse a directory's fsync
            os.fsync(fd)
    finally:
        os.close(fd)
