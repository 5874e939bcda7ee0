"""A consistent copy of a live SQLite file (WAL included), written so that it is never seen
half-made: what ``stampedge cloud backup`` and ``stampedge agent backup|restore`` share.

Copying a database with ``cp`` while its service runs can give a broken file: the newest commits
live in ``NAME-wal`` until a checkpoint, and the two files change under the copy. SQLite's
online backup copies every page of one snapshot instead (one read transaction: what was
committed when it began, nothing half-written, the WAL's pages included). In WAL mode a reader
never blocks the writer, so the service keeps writing meanwhile.

The copy is written beside its target as ``TARGET.partial`` (created 0600 before a byte is in
it: these files hold secrets and customers' data), checked (``PRAGMA integrity_check``),
described by the caller on the checked copy, flushed to disk and only then renamed: a crash or a
full disk never leaves a half-written file under the name asked for.

Plain ``sqlite3`` and file calls: run these from a command, or through ``asyncio.to_thread``.
"""

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from config import ConfigError

BUSY_TIMEOUT_S = 30.0  # opening the file while its service migrates or checkpoints
T = TypeVar("T")


def partial_path(target: Path) -> Path:
    """Where the copy for ``target`` is made before it is renamed to ``target``."""
    return target.with_name(target.name + ".partial")


def backup_file(
    source: Path, target: Path, *, what: str, describe: Callable[[sqlite3.Connection], T]
) -> T:
    """Copy the database at ``source`` to the new file ``target`` (never overwritten); return
    ``describe(copy)`` (counts for the report; it raises ``ConfigError`` for a file that is not
    the kind expected). ``what`` names the command in its one-line errors."""
    if not source.is_file():
        raise ConfigError(f"{what}: {source}: no such file")
    if target.exists():
        raise ConfigError(f"{target} exists: choose another name or remove it first")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent}: no such directory")
    partial = partial_path(target)
    partial.unlink(missing_ok=True)  # left by a backup that died mid-way
    try:
        copy_snapshot(source, partial)
        result = checked(partial, what=what, describe=describe, name=source)
        fsync_path(partial)
        os.replace(partial, target)
        fsync_path(target.parent)
    except sqlite3.Error as err:
        raise ConfigError(f"{what} of {source} failed: {err}") from err
    finally:
        partial.unlink(missing_ok=True)
    return result


def copy_snapshot(source: Path, partial: Path) -> None:
    """One snapshot of ``source`` (its WAL included) into the new file ``partial`` (0600)."""
    # mode=ro: a backup never writes to the live file (``-shm`` aside, as any reader)
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


def checked(path: Path, *, what: str, describe: Callable[[sqlite3.Connection], T], name: Path) -> T:
    """``describe`` the database at ``path`` (a copy of ``name``, named in errors) once
    ``PRAGMA integrity_check`` says it is sound; a file that is not a database, or a damaged
    one, is a ``ConfigError`` of one line."""
    conn = sqlite3.connect(path)  # a copy of ours: it may take its own -wal while open
    try:
        try:
            problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as err:  # "file is not a database", "malformed"
            raise ConfigError(f"{what}: {name} is not a sound SQLite database ({err})") from err
        if problems != ["ok"]:
            raise ConfigError(f"{what}: {name} is damaged: {'; '.join(problems[:3])}")
        return describe(conn)
    finally:
        conn.close()


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') writes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems refuse a directory's fsync
            os.fsync(fd)
    finally:
        os.close(fd)
