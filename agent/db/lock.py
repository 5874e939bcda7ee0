"""Who holds the agent's database: a ``flock`` on ``agent.db.lock`` beside it.

Every process that opens the database (the agent, ``stampedge queue``) holds a *shared* lock for
as long as it has the file open; ``stampedge agent restore`` takes it *exclusively*, without
waiting, so it refuses while anyone has the database open, and nobody opens the database while a
restore swaps the file. The kernel drops a ``flock`` when its process ends, however it ends
(a ``kill -9`` included), so a crashed agent never blocks a restore. Plain file calls: run them on
a worker thread.
"""

import fcntl
import os
from pathlib import Path

from agent.db.errors import DbError


class DatabaseBusy(DbError):
    """Another process holds the agent's database in a way that rules out what was asked."""


def lock_path(database: Path) -> Path:
    """The lock file of the database at ``database``."""
    return database.with_name(database.name + ".lock")


def _take(database: Path, how: int) -> int | None:
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def hold_shared(database: Path) -> int:
    """A shared hold on ``database`` for as long as the returned descriptor stays open."""
    fd = _take(database, fcntl.LOCK_SH)
    if fd is None:
        raise DatabaseBusy(f"{database} is being restored (stampedge agent restore); try again")
    return fd


def hold_exclusive(database: Path) -> int:
    """The only hold on ``database`` (close the descriptor to let go); ``DatabaseBusy`` while an
    agent or a ``stampedge queue`` command has it open."""
    fd = _take(database, fcntl.LOCK_EX)
    if fd is None:
        raise DatabaseBusy(
            f"an agent has {database} open: stop it first (systemctl stop stampedge-agent)"
        )
    return fd


def release(fd: int) -> None:
    """Let go of a hold (closing the descriptor drops the lock)."""
    os.close(fd)
