"""Housekeeping: old acked events go, in batches, with a WAL checkpoint; nothing else is touched."""

import time
from pathlib import Path

from sync.edge.housekeeping import DAY_S, purge_once
from sync.edge.outbox import Outbox
from tests.sync.edge.conftest import order_event


async def test_given_acked_events_older_than_retention_then_only_those_are_purged(
    outbox: Outbox,
) -> None:
    old = [order_event(f"old{i}") for i in range(2500)]
    recent = [order_event(f"new{i}") for i in range(5)]
    waiting = [order_event(f"pend{i}") for i in range(3)]
    refused = [order_event("dead")]
    await outbox.append([*old, *recent, *waiting, *refused])
    eight_days_ago = time.time() - 8 * DAY_S
    await outbox.mark([str(e.event_id) for e in old], "acked", now=eight_days_ago)
    await outbox.mark([str(e.event_id) for e in recent], "acked")
    await outbox.mark([str(refused[0].event_id)], "dead", error="x", now=eight_days_ago)

    assert await purge_once(outbox, 7, batch=1000) == 2500

    c = await outbox.counts()
    assert (c.acked, c.pending, c.dead) == (5, 3, 1)
    wal = Path(f"{outbox.path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed (TRUNCATE)
    assert await outbox.integrity_check() == "ok"


async def test_given_nothing_old_then_nothing_purged(outbox: Outbox) -> None:
    e = order_event("a")
    await outbox.append([e])
    await outbox.mark([str(e.event_id)], "acked")
    assert await purge_once(outbox, 7) == 0
    assert (await outbox.counts()).acked == 1
