"""Housekeeping of the outbox: acked events leave after the retention period, in batches.

Deleting in batches of 1,000 keeps every write short, so checks keep being recorded while a
week of history is purged; ``Outbox.purge_acked`` checkpoints the WAL afterwards so the file does
not keep growing on a box with a small disk. Pending and dead events are never purged.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable

from sync.edge.errors import SyncError
from sync.edge.outbox import Outbox

log = logging.getLogger(__name__)
DAY_S = 86_400.0


async def purge_once(db: Outbox, retention_days: float, *, batch: int = 1000) -> int:
    """Delete acked events older than ``retention_days``; how many went."""
    n = await db.purge_acked(retention_days * DAY_S, batch=batch)
    if n:
        log.info("purged %d acked event(s) older than %g day(s)", n, retention_days)
    return n


async def run_housekeeping(
    db: Outbox,
    retention_days: float,
    *,
    every_s: float = 3600.0,
    also: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Purge now and then every ``every_s`` seconds (a background task of the agent); ``also``:
    the agent's own retention round, run after each purge."""
    while True:
        try:
            await purge_once(db, retention_days)
            if also is not None:
                await also()
        except (
            SyncError,
            sqlite3.Error,
        ) as err:  # e.g. a full disk: try again next round, keep the agent up
            log.warning("housekeeping failed: %s", err)
        await asyncio.sleep(every_s)
