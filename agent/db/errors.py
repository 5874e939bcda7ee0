"""The agent database's errors: each is also the error its callers in the libraries catch.

``sync.edge`` (outbox, state pull) catches ``SyncError`` and ``printers`` catches
``JobStoreError``; the database is the agent's, so its errors subclass both rather than the
libraries knowing of the agent.
"""

from printers.errors import JobStoreError
from sync.edge.errors import OutboxFullError, SyncError


class DbError(SyncError, JobStoreError):
    """The agent's database could not do what was asked (closed, locked, corrupt)."""


class DiskFullError(DbError, OutboxFullError):
    """The disk is full: nothing was recorded."""


class DatabaseTooNew(DbError):
    """The file was written by a newer release of the agent; this one must not touch it."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the agent database has schema version {found}, newer than this release knows "
            f"({known}): run the newer release, or restore a backup made before the upgrade"
        )
        self.found = found
        self.known = known
