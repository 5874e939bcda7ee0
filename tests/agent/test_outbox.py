"""The durable outbox on a real SQLite file: group commit, isolation, disk full, housekeeping."""

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agent.http.state import DB
from sync.edge.errors import SyncError
from sync.edge.outbox import NewEvent
from tests.agent_db import open_box


def _event(n: int = 0) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type="order.recorded",
        payload={"order_id": f"O-{n}", "total": "1.00"},
        device_time=datetime.now(UTC),
    )


async def test_settings_of_a_durable_file(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db")
    try:
        mode = await box.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        sync = await box.on_writer(lambda db: db.execute("PRAGMA synchronous").fetchone())
        assert sync[0] == 2  # FULL
    finally:
        await box.close()


async def test_given_maintenance_that_leaves_a_cursor_or_a_transaction_then_writes_go_on(
    tmp_path: Path,
) -> None:
    # A cursor not read to its end keeps a statement running, and every later COMMIT would fail
    # with "SQL statements in progress"; an open transaction would fail every BEGIN.
    box = await open_box(tmp_path / "a.db")
    try:
        with pytest.raises(TypeError, match="not a cursor"):
            await box.on_writer(lambda db: db.execute("SELECT seq FROM outbox UNION SELECT 1"))

        def begin(db: sqlite3.Connection) -> None:
            db.execute("BEGIN")

        await box.on_writer(begin)
        await box.append([_event(1), _event(2)])
        assert (await box.counts()).pending == 2
    finally:
        await box.close()


async def test_concurrent_appends_share_commits_and_all_land(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db")
    try:
        events = [_event(n) for n in range(400)]
        await asyncio.gather(*(box.append([e]) for e in events))
        counts = await box.counts()
        assert counts.pending == 400
        assert box.writes_committed == 400
        assert box.groups_committed < 400 / 4  # group commit: far fewer transactions than writes
        rows = await box.rows("pending", limit=1000)
        assert {r.event_id for r in rows} == {str(e.event_id) for e in events}
        assert all(r.payload_hash and r.attempts == 0 for r in rows)
    finally:
        await box.close()


async def test_the_same_event_id_twice_is_stored_once(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db")
    try:
        e = _event()
        await box.append([e])
        await box.append([e])
        assert (await box.counts()).pending == 1
    finally:
        await box.close()


async def test_one_bad_request_in_a_group_fails_alone(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db", extra_schema=["CREATE TABLE t (x INTEGER UNIQUE)"])
    try:
        await box.write([("INSERT INTO t (x) VALUES (?)", (1,))])
        good = [box.append([_event(n)]) for n in range(20)]
        bad = box.write([("INSERT INTO t (x) VALUES (?)", (1,))])
        results = await asyncio.gather(*good, bad, return_exceptions=True)
        assert all(r is None for r in results[:-1])
        assert isinstance(results[-1], SyncError)
        assert (await box.counts()).pending == 20
    finally:
        await box.close()


async def test_a_request_keeps_its_own_statement_order_inside_a_group(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db", extra_schema=["CREATE TABLE t (k TEXT, v INT)"])
    try:
        ins = "INSERT INTO t (k, v) VALUES (?, 0)"
        upd = "UPDATE t SET v = v + 1 WHERE k = ?"
        await asyncio.gather(
            box.write([(upd, ("a",))]),
            box.write([(ins, ("b",)), (upd, ("b",))]),
            box.write([(ins, ("a",)), (upd, ("a",))]),
        )
        rows = await box.fetchall("SELECT k, v FROM t ORDER BY k")
        assert [tuple(r) for r in rows] == [("a", 1), ("b", 1)]
    finally:
        await box.close()


async def test_mark_retry_and_purge(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db")
    try:
        events = [_event(n) for n in range(5)]
        await box.append(events)
        ids = [str(e.event_id) for e in events]
        await box.mark(ids[:3], "sent")
        await box.mark(ids[:2], "acked", now=1.0)  # acked long ago
        await box.mark(ids[2:3], "dead", error="unknown card")
        counts = await box.counts()
        assert (counts.pending, counts.sent, counts.acked, counts.dead) == (2, 0, 2, 1)
        dead = await box.rows("dead")
        assert dead[0].last_error == "unknown card" and dead[0].attempts == 1
        assert await box.retry_dead() == 1
        assert await box.purge_acked(older_than_s=60) == 2
        assert (await box.counts()).acked == 0
        assert await box.integrity_check() == "ok"
    finally:
        await box.close()


async def test_sent_events_go_back_to_pending_after_a_restart(tmp_path: Path) -> None:
    box = await open_box(tmp_path / "a.db")
    e = _event()
    await box.append([e])
    await box.mark([str(e.event_id)], "sent")
    await box.close()
    box = await open_box(tmp_path / "a.db")
    try:
        assert (await box.counts()).pending == 1
    finally:
        await box.close()


async def test_a_full_disk_fails_the_order_with_503_and_loses_nothing(
    agent: TestClient[Any, Any],
) -> None:
    ok = await agent.post("/v1/orders", json={"order_id": "D-0", "total": "10"})
    assert ok.status == 201
    box = agent.app[DB]
    pages = await box.on_writer(lambda db: db.execute("PRAGMA page_count").fetchone()[0])
    await box.on_writer(lambda db: db.execute(f"PRAGMA max_page_count = {pages}").fetchall())
    statuses = []
    for n in range(1, 60):
        resp = await agent.post("/v1/orders", json={"order_id": f"D-{n}", "total": "10"})
        statuses.append(resp.status)
        if resp.status == 503:
            err = (await resp.json())["error"]
            assert err["code"] == "disk_full" and "disk is full" in err["message"], err
            break
    assert statuses[-1] == 503 and set(statuses[:-1]) <= {201}
    recorded = await box.fetchall("SELECT order_id FROM orders")
    events = await box.fetchall("SELECT payload FROM outbox")
    assert len(recorded) == len(events) == len(statuses)  # every 201, none of the 503
    assert await box.integrity_check() == "ok"


@pytest.mark.parametrize("bad", ["not sql at all"])
async def test_a_broken_statement_is_a_sync_error_not_a_crash(tmp_path: Path, bad: str) -> None:
    box = await open_box(tmp_path / "a.db")
    try:
        with pytest.raises(SyncError):
            await box.write([(bad, ())])
        await box.append([_event()])  # the writer keeps going
        assert (await box.counts()).pending == 1
    except sqlite3.Error:
        pytest.fail("raw sqlite error escaped the outbox")
    finally:
        await box.close()
