"""The uploader: moves events from the agent's outbox to the cloud store, exactly once in effect.

Delivery is at-least-once on the wire and exactly-once in effect: every event carries a UUID the
cloud deduplicates on, so anything whose answer was lost (a cut connection, a timeout, a kill -9)
is simply sent again and comes back ``duplicate``. Per batch of at most 500 events:

1. read the oldest due events after a ``seq`` cursor (reader connection, no transaction open),
   each already in its wire form: the stored payload text is spliced in, never parsed again;
2. ``POST /v1/sync/events`` with no database transaction open; the events stay ``pending``
   (the cursor, not the state, keeps a batch from being read twice, and a crash simply sends
   them again);
3. one short write per answer: ``applied``/``duplicate`` -> ``acked``; ``rejected`` -> ``dead``
   with the cloud's reason; any link trouble -> still ``pending``, the attempt and its error
   counted, and a backoff wait (full jitter, capped). Events are never dead-lettered for
   network or key trouble: a shop can be offline for days.

Up to four batches may be on the wire at once (``window``): the cloud parses the next ones while
it commits one (two left it idle a fifth of the time, four about an eighth, in
``bench/sync_drain.py``). A batch holding a void or an Autopilot attach waits for every earlier
batch's answer, so the cloud receives a check before its void.
"""

import asyncio
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from sync.contract.events import EventStatus
from sync.edge.backoff import Backoff
from sync.edge.client import Answer, CloudAuthError, CloudClient, CloudRefused, CloudUnreachable
from sync.edge.errors import SyncError
from sync.edge.outbox import Outbox, Stmt
from sync.web.waiting import wait_set

log = logging.getLogger(__name__)
LINK_ERRORS = (CloudUnreachable, CloudAuthError)


@dataclass
class Outcome:
    """What the cloud said about a batch, sorted into what the outbox must do."""

    acked: list[str] = field(default_factory=list)
    dead: list[tuple[str, str]] = field(default_factory=list)
    applied: int = 0
    duplicate: int = 0
    effects: dict[str, Any] = field(default_factory=dict)  # event id -> what it credited

    def merge(self, other: "Outcome") -> None:
        """Add ``other``'s events to this outcome."""
        self.acked += other.acked
        self.dead += other.dead
        self.applied += other.applied
        self.duplicate += other.duplicate
        self.effects.update(other.effects)


def sort_results(event_ids: list[str], answers: list[Answer]) -> Outcome:
    """Sort the cloud's answers for ``event_ids``; ``CloudUnreachable`` if they do not match."""
    if [a[0] for a in answers] != event_ids:  # the cloud answers in the order sent; else by id
        by_id = {_same_id(a[0]): a for a in answers}
        if len(answers) != len(event_ids) or set(by_id) != set(event_ids):
            raise CloudUnreachable(
                f"the cloud answered {len(answers)} results for {len(event_ids)} events sent",
                kind="bad_answer",
            )
        answers = [by_id[eid] for eid in event_ids]
    out = Outcome()
    for eid, (_, status, reason) in zip(event_ids, answers, strict=True):
        if status is EventStatus.REJECTED:
            out.dead.append((eid, f"rejected by the cloud: {reason or 'no reason given'}"))
        else:
            out.acked.append(eid)
            if status is EventStatus.APPLIED:
                out.applied += 1
            else:
                out.duplicate += 1
    return out


def _same_id(text: str) -> str:
    """An event id as the outbox writes it (the cloud may spell a UUID otherwise)."""
    try:
        return str(UUID(text))
    except ValueError:
        return text


# Walk the pending index from a cursor, so a batch is found without sorting the backlog and
# without stepping over acked rows. SQLite builds each event's part of the ``EventBatch`` JSON
# on the reader's thread, splicing the stored payload text in as is (never parsed again): the
# event loop only joins the parts.
DUE_AFTER = (
    "SELECT seq, event_id, type, "
    """'{"id":' || json_quote(event_id) || ',"type":' || json_quote(type) || """
    """',"device_time":' || json_quote(device_time) || ',"payload":' || payload || '}' """
    "FROM outbox INDEXED BY outbox_pending "
    "WHERE seq > ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY seq LIMIT ?"
)

# One statement per batch, by primary key, written after the answer. It also counts the
# attempt: marking a batch 'sent' before the post cost a second transaction (and fsync) per
# batch, and the seq cursor, not the state, keeps a batch from being read twice.
ACKED = (
    "UPDATE outbox SET state = 'acked', acked_at = ?, attempts = attempts + 1 "
    "WHERE seq IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'sent')"
)
DEAD = (
    "UPDATE outbox SET state = 'dead', last_error = ?, attempts = attempts + 1 "
    "WHERE seq = ? AND state IN ('pending', 'sent')"
)
GIVEN_BACK = (
    "UPDATE outbox SET state = 'pending', last_error = ?, attempts = attempts + 1 "
    "WHERE seq IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'sent')"
)


def acked_statement(seqs: Sequence[int], now: float) -> Stmt:
    """Mark events ``acked`` at ``now`` and count the attempt (a dead or purged one is left)."""
    return ACKED, (now, json.dumps(list(seqs)))


def given_back_statement(seqs: Sequence[int], error: str) -> Stmt:
    """Put events back to ``pending`` after link trouble, counting the attempt and its error."""
    return GIVEN_BACK, (error, json.dumps(list(seqs)))


ORDERED_TYPES = frozenset({"order.voided", "order.attached"})


@dataclass(slots=True)
class Batch:
    """Due events as read for sending: seqs and ids for the answer, the request body ready."""

    seqs: list[int]
    ids: list[str]
    types: list[str]
    parts: list[str]  # each event's JSON, as DUE_AFTER builds it

    @classmethod
    def of(cls, rows: Sequence[Sequence[object]]) -> "Batch":
        """A batch from ``DUE_AFTER`` rows."""
        cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
        return cls(*(list(c) for c in cols))

    def __len__(self) -> int:
        return len(self.seqs)

    def body(self) -> bytes:
        """The ``EventBatch`` JSON."""
        return ('{"events":[' + ",".join(self.parts) + "]}").encode()

    def refers_back(self) -> bool:
        """True if it holds events about earlier checks (they must not overtake them)."""
        return not ORDERED_TYPES.isdisjoint(self.types)

    def split(self) -> tuple["Batch", "Batch"]:
        """Two halves, in order."""
        mid = len(self.seqs) // 2
        return (
            Batch(self.seqs[:mid], self.ids[:mid], self.types[:mid], self.parts[:mid]),
            Batch(self.seqs[mid:], self.ids[mid:], self.types[mid:], self.parts[mid:]),
        )


@dataclass
class _Flight:
    """A batch on the wire."""

    batch: Batch
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


class ResultSink(Protocol):
    """Who keeps what the cloud said each applied event caused (the agent's ``rewards``)."""

    def statements(self, effects: dict[str, Any], now: float) -> list[Stmt]:
        """Statements written with the batch's acks (one transaction): keep ``effects``."""
        ...

    def written(self, effects: dict[str, Any]) -> None:
        """The statements are on disk."""


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
        window: int = 4,
        clock: Callable[[], float] = time.time,
        results: ResultSink | None = None,
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
        self.results = results
        self._wake = outbox.subscribe()
        self.uploaded = asyncio.Event()  # set after each batch that acked something

    async def _due_after(self, seq: int) -> Batch:
        rows = await self.outbox.fetchall(DUE_AFTER, (seq, self.clock(), self.batch_size))
        return Batch.of(rows)

    async def drain(self, progress: Progress | None = None) -> Outcome:
        """Send every due event now; raises ``CloudUnreachable``/``CloudAuthError`` on link trouble.

        Up to ``window`` batches are on the wire at once and their answers are taken in order;
        reading the next batch and writing the last answer overlap the cloud's work. A batch
        that refers to earlier checks (a void, an Autopilot attach) waits until every batch
        before it has been answered, so the cloud never sees a void before its check. Events of
        every batch not yet answered are back in ``pending`` when this raises.
        """
        total = Outcome()
        flights: deque[_Flight] = deque()
        recording: asyncio.Task[None] | None = None
        batch = await self._due_after(0)
        cursor = 0
        try:
            while batch or flights:
                while (
                    batch and len(flights) < self.window and not (flights and batch.refers_back())
                ):
                    flights.append(_Flight(batch, asyncio.create_task(self._deliver(batch))))
                    cursor = batch.seqs[-1]
                    batch = await self._due_after(cursor)
                flight = flights.popleft()
                try:
                    outcome = await flight.post
                except LINK_ERRORS as err:
                    if recording is not None:
                        await recording
                        recording = None
                    await self._give_back([flight, *flights], err, progress)
                    flights.clear()
                    raise
                if recording is not None:
                    await recording
                recording = asyncio.create_task(self._record(outcome, flight.batch, progress))
                total.merge(outcome)
                if not batch:  # read ahead during a post, it may have missed new events
                    batch = await self._due_after(cursor)
        finally:
            for f in flights:  # only when cancelled: nothing was written for them
                f.post.cancel()
            if recording is not None:
                await recording
        return total

    async def _give_back(
        self,
        flights: list["_Flight"],
        err: CloudUnreachable | CloudAuthError,
        progress: Progress | None,
    ) -> None:
        """Link trouble: a batch in the air that the cloud did answer is recorded (it applied
        it, so sending it again would only come back ``duplicate``); every other batch stays
        ``pending``, its attempt counted."""
        answers = await asyncio.gather(*(f.post for f in flights), return_exceptions=True)
        seqs: list[int] = []
        for flight, answer in zip(flights, answers, strict=True):
            if isinstance(answer, Outcome):
                await self._record(answer, flight.batch, progress)
            else:
                seqs.extend(flight.batch.seqs)
        await self.outbox.write([given_back_statement(seqs, str(err))])
        self.observer.link_failed(err)

    async def _record(self, outcome: Outcome, batch: Batch, progress: Progress | None) -> None:
        """One write for the whole answer: acks by seq, and any dead events with their reason."""
        stmts: list[Stmt] = []
        if len(outcome.acked) == len(batch):
            stmts.append(acked_statement(batch.seqs, self.clock()))
        else:
            seq_of = dict(zip(batch.ids, batch.seqs, strict=True))
            if outcome.acked:
                stmts.append(acked_statement([seq_of[e] for e in outcome.acked], self.clock()))
            for eid, reason in outcome.dead:
                log.warning("event %s dead-lettered: %s", eid, reason, extra={"event_id": eid})
                stmts.append((DEAD, (reason, seq_of[eid])))
        sink = self.results if outcome.effects else None
        if sink is not None:
            stmts.extend(sink.statements(outcome.effects, self.clock()))
        await self.outbox.write(stmts)
        if sink is not None:
            sink.written(outcome.effects)
        if outcome.acked:
            self.uploaded.set()
        self.observer.link_ok()
        self.observer.batch_done(outcome)
        if progress is not None:
            progress(len(batch))

    async def _deliver(self, batch: Batch) -> Outcome:
        """Post ``batch``; a refused batch is split in halves until the event at fault is alone."""
        effects: dict[str, Any] = {}
        try:
            answers = await self.client.post_batch(batch.body(), effects)
        except CloudRefused as err:
            if len(batch) == 1:
                return Outcome(dead=[(batch.ids[0], f"refused by the cloud: {err}")])
            log.warning("the cloud refused a batch of %d (%s); splitting it", len(batch), err)
            first, second = batch.split()
            out = await self._deliver(first)
            out.merge(await self._deliver(second))
            return out
        out = sort_results(batch.ids, answers)
        out.effects = effects
        return out

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
            await wait_set(self._wake, self.interval_s)
            if self._wake.is_set() and self.linger_s > 0:
                # A burst of checks: wait a moment so they travel in one batch.
                await asyncio.sleep(self.linger_s)
