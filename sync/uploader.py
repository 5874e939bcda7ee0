"""The uploader: moves events from the agent's outbox to the cloud store, exactly once in effect.

Delivery is at-least-once on the wire and exactly-once in effect: every event carries a UUID the
cloud deduplicates on, so anything whose answer was lost (a cut connection, a timeout, a kill -9)
is simply sent again and comes back ``duplicate``. Per batch of at most 500 events:

1. read the oldest due events after a ``seq`` cursor (reader connection, no transaction open);
2. ``POST /v1/sync/events`` with no database transaction open, while one short write marks them
   ``sent`` and counts the attempt (a crash leaves them ``sent``; the outbox puts them back to
   ``pending`` when it opens);
4. ``applied``/``duplicate`` -> ``acked``; ``rejected`` -> ``dead`` with the cloud's reason; any
   link trouble -> back to ``pending`` and a backoff wait (full jitter, capped). Events are never
   dead-lettered for network or key trouble: a shop can be offline for days.

Two batches may be on the wire at once (``window``); one holding a void or an Autopilot attach
waits for every earlier batch's answer, so the cloud receives a check before its void.
"""

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sync.backoff import Backoff
from sync.client import CloudAuthError, CloudClient, CloudRefused, CloudUnreachable
from sync.errors import SyncError
from sync.outbox import Outbox, Stmt
from sync.protocol import BatchResult, EventStatus

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


@dataclass(frozen=True, slots=True)
class Due:
    """A pending event as read for sending: its stored payload text goes on the wire as is."""

    seq: int
    event_id: str
    type: str
    device_time: str
    payload: str  # canonical JSON, as stored


# Walk the primary key from a cursor: through the (state, next_attempt_at, seq) index SQLite
# would sort every pending row again for each batch, which is quadratic in the backlog.
DUE_AFTER = (
    "SELECT seq, event_id, type, device_time, payload FROM outbox NOT INDEXED "
    "WHERE seq > ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY seq LIMIT ?"
)
FIRST_DUE = "SELECT MIN(seq) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"


# One statement per batch, by primary key: 500 separate UPDATEs by event id cost the agent a
# third of its upload throughput. ``json_each`` keeps the statement's shape fixed.
SENT = (
    "UPDATE outbox SET state = 'sent', attempts = attempts + 1 "
    "WHERE seq IN (SELECT value FROM json_each(?)) AND state = 'pending'"
)
ACKED = (
    "UPDATE outbox SET state = 'acked', acked_at = ? "
    "WHERE seq IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'sent')"
)


def sent_statement(seqs: Sequence[int]) -> Stmt:
    """Mark a batch ``sent`` and count the attempt."""
    return SENT, (json.dumps(list(seqs)),)


def acked_statement(seqs: Sequence[int], now: float) -> Stmt:
    """Mark events ``acked`` at ``now`` (a dead or purged one is left alone)."""
    return ACKED, (now, json.dumps(list(seqs)))


def batch_body(rows: Sequence[Due]) -> bytes:
    """The ``EventBatch`` JSON for ``rows``, built from the stored text without re-parsing it."""
    parts = [
        f'{{"id":"{r.event_id}","type":{json.dumps(r.type)},'
        f'"device_time":{json.dumps(r.device_time)},"payload":{r.payload}}}'
        for r in rows
    ]
    return ('{"events":[' + ",".join(parts) + "]}").encode()


ORDERED_TYPES = frozenset({"order.voided", "order.attached"})


def refers_back(rows: Sequence[Due]) -> bool:
    """True if a batch holds events about earlier checks (they must not overtake them)."""
    return any(r.type in ORDERED_TYPES for r in rows)


@dataclass
class _Flight:
    """A batch on the wire."""

    rows: list[Due]
    sent: "asyncio.Task[object]"
    post: "asyncio.Task[Outcome]"


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
        window: int = 2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.backoff = backoff or Backoff()
        self.observer: SyncObserver = observer or NullObserver()
        self.linger_s = linger_s
        self.window = max(1, window)
        self.clock = clock
        self._wake = outbox.subscribe()
        self.uploaded = asyncio.Event()  # set after each batch that acked something

    async def _due_after(self, seq: int) -> list[Due]:
        rows = await self.outbox.fetchall(DUE_AFTER, (seq, self.clock(), self.batch_size))
        return [Due(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def drain(self, progress: Progress | None = None) -> Outcome:
        """Send every due event now; raises ``CloudUnreachable``/``CloudAuthError`` on link trouble.

        Up to ``window`` batches are on the wire at once and their answers are taken in order;
        reading the next batch and writing the last answer overlap the cloud's work. A batch
        that refers to earlier checks (a void, an Autopilot attach) waits until every batch
        before it has been answered, so the cloud never sees a void before its check. Events of
        every batch not yet answered are back in ``pending`` when this raises.
        """
        total = Outcome()
        first = await self.outbox.fetchone(FIRST_DUE, (self.clock(),))
        if first is None or first[0] is None:
            return total
        cursor = first[0] - 1
        flights: deque[_Flight] = deque()
        recording: asyncio.Task[None] | None = None
        rows = await self._due_after(cursor)
        try:
            while rows or flights:
                while rows and len(flights) < self.window and not (flights and refers_back(rows)):
                    flights.append(self._launch(rows))
                    cursor = rows[-1].seq
                    rows = await self._due_after(cursor)
                flight = flights.popleft()
                try:
                    outcome = await flight.post
                except LINK_ERRORS as err:
                    await self._give_back([flight, *flights], err)
                    flights.clear()
                    raise
                await flight.sent
                if recording is not None:
                    await recording
                seq_of = {r.event_id: r.seq for r in flight.rows}
                recording = asyncio.create_task(self._record(outcome, seq_of, progress))
                total.merge(outcome)
                if not rows:  # read ahead during a post, it may have missed new events
                    rows = await self._due_after(cursor)
        finally:
            for f in flights:  # only when cancelled: the outbox resets 'sent' at next open
                f.post.cancel()
            if recording is not None:
                await recording
        return total

    def _launch(self, rows: list[Due]) -> "_Flight":
        # 'sent' only counts the attempt: the seq cursor, not the state, keeps a batch from
        # being read twice, so the post need not wait for this write.
        sent = asyncio.create_task(self.outbox.write([sent_statement([r.seq for r in rows])]))
        return _Flight(rows, sent, asyncio.create_task(self._deliver(rows)))

    async def _give_back(self, flights: list["_Flight"], err: SyncError) -> None:
        """Link trouble: every batch not yet recorded goes back to ``pending``."""
        await asyncio.gather(*(f.post for f in flights), return_exceptions=True)
        await asyncio.gather(*(f.sent for f in flights), return_exceptions=True)
        ids = [r.event_id for f in flights for r in f.rows]
        await self.outbox.mark(ids, "pending", error=str(err))
        if isinstance(err, LINK_ERRORS):
            self.observer.link_failed(err)

    async def _record(
        self, outcome: Outcome, seq_of: dict[str, int], progress: Progress | None
    ) -> None:
        if outcome.acked:
            await self.outbox.write(
                [acked_statement([seq_of[eid] for eid in outcome.acked], self.clock())]
            )
        for eid, reason in outcome.dead:
            log.warning("event %s dead-lettered: %s", eid, reason)
            await self.outbox.mark([eid], "dead", error=reason)
        if outcome.acked:
            self.uploaded.set()
        self.observer.link_ok()
        self.observer.batch_done(outcome)
        if progress is not None:
            progress(len(seq_of))

    async def _deliver(self, rows: list[Due]) -> Outcome:
        """Post ``rows``; a refused batch is split in halves until the event at fault is alone."""
        try:
            result = await self.client.post_batch(batch_body(rows))
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
