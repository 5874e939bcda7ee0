"""The uploader against a stand-in cloud on a real port, over a real outbox file."""

import asyncio
import sqlite3
from typing import Any

import pytest

from sync.edge.backoff import Backoff
from sync.edge.client import CloudAuthError, CloudClient, CloudUnreachable
from sync.edge.outbox import Outbox
from sync.edge.uploader import Outcome, Uploader
from tests.sync.edge.conftest import order_event, wait_until
from tests.sync.edge.stand_in_cloud import StandInCloud

Cloud = tuple[StandInCloud, str]


class Recorder:
    """A SyncObserver that remembers what it was told."""

    def __init__(self) -> None:
        self.ok = 0
        self.failures: list[Any] = []
        self.outcomes: list[Outcome] = []

    def batch_done(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def link_ok(self) -> None:
        self.ok += 1

    def link_failed(self, err: Any) -> None:
        self.failures.append(err)


async def states(box: Outbox) -> dict[str, int]:
    c = await box.counts()
    return {"pending": c.pending, "sent": c.sent, "acked": c.acked, "dead": c.dead}


async def test_given_1200_events_when_drained_then_batches_of_500_in_order_all_acked(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    events = [order_event(f"o{i}") for i in range(1200)]
    await outbox.append(events)
    out = await Uploader(outbox, client).drain()
    assert cloud.batches == [500, 500, 200]
    assert cloud.order == [str(e.event_id) for e in events]
    assert out.applied == 1200
    assert await states(outbox) == {"pending": 0, "sent": 0, "acked": 1200, "dead": 0}
    assert cloud.encodings == [""] * 3  # the stand-in is on loopback: plain by default


async def test_given_compression_on_then_batches_travel_gzipped_and_a_tiny_one_plain(
    outbox: Outbox, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    gz = CloudClient(url, cloud.key, timeout_s=2.0, compress=True)
    try:
        await outbox.append([order_event(f"o{i}") for i in range(600)])
        await Uploader(outbox, gz).drain()
        await outbox.append([order_event("tiny")])
        await Uploader(outbox, gz).drain()
    finally:
        await gz.close()
    assert cloud.encodings == ["gzip", "gzip", ""]
    assert len(cloud.ledger) == 601


@pytest.mark.parametrize(
    ("url", "gzipped"),
    [
        ("http://127.0.0.1:8788", False),
        ("http://localhost:8788/", False),
        ("http://[::1]:8788", False),
        ("https://cloud.example.com", True),
        ("http://10.0.0.5:8788", True),
    ],
)
def test_given_no_choice_then_only_a_cloud_off_this_machine_gets_gzip(
    url: str, gzipped: bool
) -> None:
    assert CloudClient(url, "sk_1_x", timeout_s=1.0).compress is gzipped


async def test_given_acked_events_sent_again_then_cloud_says_duplicate_and_ledger_has_one(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a"), order_event("b")])
    up = Uploader(outbox, client)
    await up.drain()
    # As after a lost answer: the same events are pending again.
    await outbox.mark([r.event_id for r in await outbox.rows("acked")], "pending")
    again = await up.drain()
    assert (again.applied, again.duplicate) == (0, 2)
    assert len(cloud.ledger) == 2
    assert (await states(outbox))["acked"] == 2


async def test_given_a_poison_event_then_it_is_dead_with_reason_and_the_others_acked(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    events = [order_event(f"o{i}") for i in range(10)]
    events.insert(4, order_event("POISON-1"))
    await outbox.append(events)
    await Uploader(outbox, client).drain()
    assert await states(outbox) == {"pending": 0, "sent": 0, "acked": 10, "dead": 1}
    dead = await outbox.rows("dead")
    assert dead[0].payload["order_id"] == "POISON-1"
    assert dead[0].last_error == "rejected by the cloud: unknown card"
    assert len(cloud.ledger) == 10


async def test_given_a_batch_refused_with_422_then_it_is_split_until_only_the_bad_event_is_dead(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    events = [order_event(f"o{i}") for i in range(20)]
    events.insert(13, order_event("BADBATCH-1"))
    await outbox.append(events)
    await Uploader(outbox, client).drain()
    assert await states(outbox) == {"pending": 0, "sent": 0, "acked": 20, "dead": 1}
    dead = await outbox.rows("dead")
    assert dead[0].payload["order_id"] == "BADBATCH-1"
    assert dead[0].last_error is not None and "HTTP 422" in dead[0].last_error
    assert len(cloud.ledger) == 20


@pytest.mark.parametrize("status", [500, 502, 503, 404, 429])
async def test_given_the_cloud_failing_with_status_then_events_stay_pending_never_dead(
    outbox: Outbox, client: CloudClient, stand_in: Cloud, status: int
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a"), order_event("b")])
    cloud.fail_next = [status] * 3
    seen = Recorder()
    up = Uploader(outbox, client, observer=seen)
    for _ in range(3):
        with pytest.raises(CloudUnreachable) as info:
            await up.drain()
        assert info.value.status == status
        assert await states(outbox) == {"pending": 2, "sent": 0, "acked": 0, "dead": 0}
    rows = await outbox.rows("pending")
    assert [r.attempts for r in rows] == [3, 3]
    assert rows[0].last_error is not None and f"HTTP {status}" in rows[0].last_error
    assert len(seen.failures) == 3
    await up.drain()
    assert await states(outbox) == {"pending": 0, "sent": 0, "acked": 2, "dead": 0}
    assert len(cloud.ledger) == 2


@pytest.mark.parametrize("status", [401, 403])
async def test_given_a_wrong_device_key_then_nothing_is_dead_and_the_error_names_the_key(
    outbox: Outbox, client: CloudClient, stand_in: Cloud, status: int
) -> None:
    cloud, _ = stand_in
    await outbox.append([order_event("a")])
    cloud.fail_next = [status]
    with pytest.raises(CloudAuthError) as info:
        await Uploader(outbox, client).drain()
    assert "cloud.device_key" in str(info.value)
    assert await states(outbox) == {"pending": 1, "sent": 0, "acked": 0, "dead": 0}


async def test_given_the_cloud_down_then_network_error_and_events_pending(
    outbox: Outbox,
) -> None:
    from tests.conftest import free_port

    await outbox.append([order_event("a")])
    c = CloudClient(f"http://127.0.0.1:{free_port()}", "sk_1_x", timeout_s=1.0)
    try:
        with pytest.raises(CloudUnreachable) as info:
            await Uploader(outbox, c).drain()
    finally:
        await c.close()
    assert info.value.kind == "network"
    assert await states(outbox) == {"pending": 1, "sent": 0, "acked": 0, "dead": 0}


async def test_given_a_cloud_slower_than_the_timeout_then_retry_gives_duplicate_not_double(
    outbox: Outbox, stand_in: Cloud
) -> None:
    cloud, url = stand_in
    await outbox.append([order_event("a")])
    cloud.stall_s = 1.0
    c = CloudClient(url, cloud.key, timeout_s=0.2)
    try:
        with pytest.raises(CloudUnreachable) as info:
            await Uploader(outbox, c).drain()
        assert info.value.kind == "timeout"
        assert len(cloud.ledger) == 1  # the cloud committed; the agent never heard
        cloud.stall_s = 0
        out = await Uploader(outbox, c).drain()
    finally:
        await c.close()
    assert (out.applied, out.duplicate) == (0, 1)
    assert cloud.order == list(cloud.ledger)
    assert await states(outbox) == {"pending": 0, "sent": 0, "acked": 1, "dead": 0}


async def test_given_an_upload_in_flight_then_the_outbox_accepts_writes_meanwhile(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    """No database transaction is held across the HTTP request."""
    cloud, _ = stand_in
    await outbox.append([order_event("a")])
    wrote: list[bool] = []

    async def write_from_another_connection() -> None:
        cloud.on_post = None

        def attempt() -> None:
            # A transaction held across HTTP would keep this waiting until it gives up.
            conn = sqlite3.connect(outbox.path, timeout=5, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO kv (key, value) VALUES ('probe', '1')")
                conn.execute("COMMIT")
                wrote.append(True)
            finally:
                conn.close()

        await asyncio.to_thread(attempt)
        await outbox.append([order_event("during")])  # and through the outbox's own writer

    cloud.on_post = write_from_another_connection
    await Uploader(outbox, client).drain()
    assert wrote == [True]
    assert len(cloud.ledger) == 2


async def test_given_run_when_an_event_is_appended_then_it_is_uploaded_without_the_timer(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    up = Uploader(outbox, client, interval_s=3600)
    task = asyncio.create_task(up.run())
    try:
        ev = order_event("x")
        await outbox.append([ev])
        await wait_until(lambda: str(ev.event_id) in cloud.ledger)
        await wait_until(lambda: _acked(outbox, 1))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _acked(box: Outbox, n: int) -> bool:
    return (await box.counts()).acked == n


async def test_given_run_while_the_cloud_fails_then_it_backs_off_and_delivers_once_it_recovers(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    cloud.fail_next = [500, 503, 500]
    delays: list[float] = []
    backoff = Backoff(base=0.01, cap=0.05, rand=lambda: 1.0)
    seen = Recorder()
    await outbox.append([order_event(f"o{i}") for i in range(5)])
    # The timer is the uploader's safety net in the field (5 s by default); 2 s here. (What hung
    # this test in CI was the cancel at its end being swallowed by asyncio.wait_for, see
    # sync/waiting.py and tests/sync/test_waiting.py.)
    up = Uploader(outbox, client, interval_s=2, backoff=backoff, observer=seen)
    original = backoff.failed

    def failed() -> float:
        delays.append(original())
        return delays[-1]

    backoff.failed = failed  # type: ignore[method-assign]
    task = asyncio.create_task(up.run())
    try:
        await wait_until(lambda: _acked(outbox, 5))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert delays == [0.01, 0.02, 0.04]
    assert len(seen.failures) == 3 and seen.ok >= 1
    assert backoff.failures == 0
    assert (await outbox.counts()).dead == 0
    assert len(cloud.ledger) == 5


async def test_given_stored_events_then_the_batch_body_is_a_valid_event_batch(
    outbox: Outbox,
) -> None:
    from sync.contract.events import EventBatch, payload_hash
    from sync.edge.uploader import DUE_AFTER, Batch

    events = [order_event("a", "1.10"), order_event('q"uote\\', "2.00")]
    await outbox.append(events)
    rows = await outbox.fetchall(DUE_AFTER, (0, 1e12, 10))
    batch = EventBatch.model_validate_json(Batch.of(rows).body())
    assert [e.id for e in batch.events] == [e.event_id for e in events]
    for sent, original in zip(batch.events, events, strict=True):
        assert sent.payload == original.payload
        assert payload_hash(sent.type, sent.payload) == payload_hash(
            original.type, original.payload
        )
        assert sent.device_time == original.device_time


def void_event(order_id: str) -> Any:
    import uuid
    from datetime import UTC, datetime

    from sync.edge.outbox import NewEvent

    return NewEvent(
        event_id=uuid.uuid4(),
        type="order.voided",
        payload={"order_id": order_id},
        device_time=datetime(2026, 11, 23, 12, 5, tzinfo=UTC),
    )


async def test_given_a_backlog_then_two_batches_are_on_the_wire_at_once(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    cloud.stall_s = 0.05
    await outbox.append([order_event(f"o{i}") for i in range(1500)])
    await Uploader(outbox, client, window=2).drain()
    assert max(others for others, _ in cloud.arrivals) == 1
    assert (await outbox.counts()).acked == 1500


async def test_given_a_void_then_its_batch_waits_for_every_earlier_batch_to_be_answered(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    cloud, _ = stand_in
    cloud.stall_s = 0.05
    await outbox.append([order_event(f"o{i}") for i in range(500)])
    await outbox.append([void_event("o3"), *(order_event(f"p{i}") for i in range(499))])
    await outbox.append([order_event(f"q{i}") for i in range(500)])
    await Uploader(outbox, client, window=2).drain()
    with_void = [others for others, types in cloud.arrivals if "order.voided" in types]
    assert with_void == [0]  # nothing else was in flight when the void travelled
    assert cloud.arrivals[2][0] == 1  # the batch after it did overlap again
    assert [m["order_id"] for m in cloud.meta.values()].index("o3") < list(cloud.order).index(
        next(eid for eid, m in cloud.meta.items() if m["type"] == "order.voided")
    )


async def test_given_the_link_failing_for_one_of_two_batches_out_then_only_it_is_pending_again(
    outbox: Outbox, client: CloudClient, stand_in: Cloud
) -> None:
    # Whichever batch meets the failure, the other one was applied by the cloud: it is recorded
    # (acked), not given back to be sent again.
    cloud, _ = stand_in
    await outbox.append([order_event(f"o{i}") for i in range(1000)])
    cloud.fail_next = [503]
    with pytest.raises(CloudUnreachable):
        await Uploader(outbox, client, window=2).drain()
    c = await outbox.counts()
    assert (c.pending, c.sent, c.acked, c.dead) == (500, 0, 500, 0)
    await Uploader(outbox, client, window=2).drain()
    assert (await outbox.counts()).acked == 1000
    assert len(cloud.ledger) == 1000
    assert cloud.batches == [500, 500]  # nothing was sent twice
