"""The uploader: moves events from the agent's outbox to the cloud store, exactly once in effect.

Delivery is at-least-once on the wire and exactly-once in effect: every event carries a UUID the
cloud deduplicates on, so anything whose answer was lost (a cut connection, a timeout, a kill -9)
is simply sent again and comes back ``duplicate``. Per batch of at most 500 events:

1. read the oldest due events (reader connection, no transaction left open);
2. mark them ``sent`` (one short write; a crash leaves them ``sent`` and the outbox puts them back
   to ``pending`` when it opens);
3. ``POST /v1/sync/events`` with no database transaction open;
4. ``applied``/``duplicate`` -> ``acked``; ``rejected`` -> ``dead`` with the cloud's reason; any
   link trouble -> back to ``pending`` and a backoff wait (full jitter, capped). Events are never
   dead-lettered for network or key trouble: a shop can be offline for days.

Batches of one device go one after another so that the cloud receives a check before its void.
"""

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from sync.backoff import Backoff
from sync.client import CloudAuthError, CloudClient, CloudRefused, CloudUnreachable
from sync.errors import SyncError
from sync.outbox import Outbox, OutboxRow
from sync.protocol import BatchResult, Event, EventStatus

log = logging.getLogger(__name__)
LINK_ERRORS = (CloudUnreachable, CloudAuthError)


@dataclass
class Outcome:
    """What the cloud said about a batch, sorted into what the outbox must do."""

    acked: list[str] = field(default_factory=list)
    dead: list[tuple[str, str]] = field(default_factory=list)
    applied: int = 0
    duplicate: int = 0

    def merge(self, other: "Outcome") -> None:
        """Add ``other``'s events to this outcome."""
        self.acked += other.acked
        self.dead += other.dead
        self.applied += other.applied
        self.duplicate += other.duplicate


def sort_results(event_ids: list[str], result: BatchResult) -> Outcome:
    """Sort a ``BatchResult`` for ``event_ids``; ``CloudUnreachable`` if it does not match them."""
    by_id = {str(r.id): r for r in result.results}
    if set(by_id) != set(event_ids):
        raise CloudUnreachable(
            f"the cloud answered {len(by_id)} results for {len(event_ids)} events sent",
            kind="bad_answer",
        )
    out = Outcome()
    for eid in event_ids:
        r = by_id[eid]
        if r.status is EventStatus.REJECTED:
            out.dead.append((eid, f"rejected by the cloud: {r.reason or 'no reason given'}"))
        else:
            out.acked.append(eid)
            if r.status is EventStatus.APPLIED:
                out.applied += 1
            else:
                out.duplicate += 1
    return out


def to_event(row: OutboxRow) -> Event:
    """The wire form of a stored event."""
    return Event(
        id=UUID(row.event_id),
        type=row.type,
        device_time=datetime.fromisoformat(row.device_time),
        payload=row.payload,
    )


class SyncObserver(Protocol):
    """Who wants to know how the link is doing (the agent's status and metrics)."""

    def batch_done(self, outcome: Outcome) -> None:
        """A batch was answered."""

    def link_ok(self) -> None:
        """The cloud answered."""

    def link_failed(self, err: CloudUnreachable | CloudAuthError) -> None:
        """An attempt failed for link or key trouble."""


class NullObserver:
    """An observer that ignores everything."""

    def batch_done(self, outcome: Outcome) -> None:
        del outcome

    def link_ok(self) -> None:
        pass

    def link_failed(self, err: CloudUnreachable | CloudAuthError) -> None:
        del err


Progress = Callable[[int], None]


class Uploader:
    """Sends due events in batches; ``run()`` is the agent's background task."""

    def __init__(
        self,
        outbox: Outbox,
        client: CloudClient,
        *,
        batch_size: int = 500,
        interval_s: float = 5.0,
        backoff: Backoff | None = None,
        observer: SyncObserver | None = None,
        linger_s: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.backoff = backoff or Backoff()
        self.observer: SyncObserver = observer or NullObserver()
        self.linger_s = linger_s
        self.clock = clock
        self._wake = outbox.subscribe()
        self.uploaded = asyncio.Event()  # set after each batch that acked something

    async def drain(self, progress: Progress | None = None) -> Outcome:
        """Send every due event now; raises ``CloudUnreachable``/``CloudAuthError`` on link trouble.

        Events of a batch that failed are back in ``pending`` when this raises.
        """
        total = Outcome()
        while True:
            rows = await self.outbox.due(self.batch_size, now=self.clock())
            if not rows:
                return total
            ids = [r.event_id for r in rows]
            await self.outbox.mark(ids, "sent")
            try:
                outcome = await self._deliver(rows)
            except LINK_ERRORS as err:
                await self.outbox.mark(ids, "pending", error=str(err))
                self.observer.link_failed(err)
                raise
            await self._record(outcome)
            self.observer.link_ok()
            self.observer.batch_done(outcome)
            total.merge(outcome)
            if progress is not None:
                progress(len(rows))

    async def _record(self, outcome: Outcome) -> None:
        await self.outbox.mark(outcome.acked, "acked")
        for eid, reason in outcome.dead:
            log.warning("event %s dead-lettered: %s", eid, reason)
            await self.outbox.mark([eid], "dead", error=reason)
        if outcome.acked:
            self.uploaded.set()

    async def _deliver(self, rows: list[OutboxRow]) -> Outcome:
        """Post ``rows``; a refused batch is split in halves until the event at fault is alone."""
        try:
            result = await self.client.post_events([to_event(r) for r in rows])
        except CloudRefused as err:
            if len(rows) == 1:
                return Outcome(dead=[(rows[0].event_id, f"refused by the cloud: {err}")])
            mid = len(rows) // 2
            log.warning("the cloud refused a batch of %d (%s); splitting it", len(rows), err)
            out = await self._deliver(rows[:mid])
            out.merge(await self._deliver(rows[mid:]))
            return out
        return sort_results([r.event_id for r in rows], result)

    async def run(self) -> None:
        """Upload on every new event and every ``interval_s``; back off while the link is down."""
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except LINK_ERRORS as err:
                delay = self.backoff.failed()
                log.warning(
                    "upload failed (%s, %d in a row); next try in %.1f s",
                    err,
                    self.backoff.failures,
                    delay,
                )
                # New events do not cut the wait short: they would turn backoff into hammering.
                await asyncio.sleep(delay)
                continue
            except (SyncError, sqlite3.Error) as err:
                # The outbox itself is in trouble (a full disk): keep the task alive and retry.
                delay = self.backoff.failed()
                log.error("upload stopped by the outbox (%s); next try in %.1f s", err, delay)
                await asyncio.sleep(delay)
                continue
            self.backoff.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            if self._wake.is_set() and self.linger_s > 0:
                # A burst of checks: wait a moment so they travel in one batch.
                await asyncio.sleep(self.linger_s)
