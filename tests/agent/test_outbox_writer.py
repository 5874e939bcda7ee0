"""The group commit's statements: keyed guards answered by one query, runs of same-shaped
requests as multi-row statements; each request still sees exactly what it would see alone."""

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.db.writer import KeyGuard, Stmt, _chunks, apply_group, open_writer
from sync.edge.outbox import NewEvent
from tests.agent_db import open_box

SCHEMA = [
    "CREATE TABLE w_orders (order_id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, ev TEXT NOT NULL UNIQUE, n INT)",
]
INSERT_ORDER = "INSERT INTO w_orders (order_id, body) VALUES (?, ?)"
INSERT_LOG = "INSERT INTO log (ev, n) VALUES (?, ?) ON CONFLICT (ev) DO NOTHING"


def _guard(order_id: str) -> KeyGuard:
    return KeyGuard("w_orders", "order_id", "body", order_id)


def _request(order_id: str, ev: str, n: int) -> tuple[KeyGuard, list[Stmt]]:
    return _guard(order_id), [(INSERT_LOG, (ev, n)), (INSERT_ORDER, (order_id, f"body-{n}"))]


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    # The agent's own tables (migrated on open) and two of the test's.
    return open_writer(tmp_path / "w.db", [(ddl, ()) for ddl in SCHEMA])


def test_keyed_guards_of_a_group_find_earlier_rows_and_skip_those_requests(
    db: sqlite3.Connection,
) -> None:
    apply_group(db, [_request("A", "e-a", 1), _request("C", "e-c", 2)])
    found = apply_group(
        db, [_request(k, f"e2-{k}", n) for n, k in enumerate(["A", "B", "C", "D"], start=10)]
    )
    assert [row["body"] if row else None for row in found] == ["body-1", None, "body-2", None]
    orders = dict(db.execute("SELECT order_id, body FROM w_orders").fetchall())
    assert orders == {"A": "body-1", "B": "body-11", "C": "body-2", "D": "body-13"}
    # rows of one run land in request order (the outbox's seq is the send order)
    assert [r[0] for r in db.execute("SELECT ev FROM log ORDER BY seq")] == [
        "e-a",
        "e-c",
        "e2-B",
        "e2-D",
    ]


def test_a_multi_row_insert_keeps_on_conflict_do_nothing_per_row(db: sqlite3.Connection) -> None:
    reqs: list[tuple[KeyGuard | Stmt | None, list[Stmt]]] = [
        (None, [(INSERT_LOG, ("same", 1))]),
        (None, [(INSERT_LOG, ("same", 2))]),
        (None, [(INSERT_LOG, ("other", 3))]),
    ]
    apply_group(db, reqs)
    rows = [tuple(r) for r in db.execute("SELECT ev, n FROM log ORDER BY seq")]
    assert rows == [("same", 1), ("other", 3)]


def test_a_failing_row_fails_the_whole_group_and_leaves_nothing(db: sqlite3.Connection) -> None:
    # The outbox then retries each request alone (tests/agent/test_outbox.py).
    with pytest.raises(sqlite3.IntegrityError):
        apply_group(
            db, [(None, [(INSERT_ORDER, ("X", "1"))]), (None, [(INSERT_ORDER, ("X", "2"))])]
        )
    assert db.execute("SELECT COUNT(*) FROM w_orders").fetchone()[0] == 0
    assert not db.in_transaction


def test_a_big_group_goes_in_chunks_under_the_parameter_limit(db: sqlite3.Connection) -> None:
    reqs = [_request(f"O-{i}", f"e-{i}", i) for i in range(5001)]
    apply_group(db, reqs)  # type: ignore[arg-type]
    assert tuple(db.execute("SELECT COUNT(*), SUM(n) FROM log").fetchone()) == (
        5001,
        sum(range(5001)),
    )
    assert db.execute("SELECT COUNT(*) FROM w_orders").fetchone()[0] == 5001


def test_mixed_shapes_and_plain_guards_still_work(db: sqlite3.Connection) -> None:
    apply_group(db, [(None, [(INSERT_ORDER, ("P", "first"))])])
    plain_guard: Stmt = ("SELECT body FROM w_orders WHERE order_id = ?", ("P",))
    found = apply_group(
        db,
        [
            (plain_guard, [(INSERT_LOG, ("never", 0))]),
            (None, [(INSERT_LOG, ("x", 1))]),
            (_guard("Q"), [(INSERT_ORDER, ("Q", "q")), (INSERT_LOG, ("y", 2))]),
            (None, [(INSERT_LOG, ("z", 3))]),
        ],
    )
    assert found[0] is not None and found[0]["body"] == "first"
    assert [r[0] for r in db.execute("SELECT ev FROM log ORDER BY seq")] == ["x", "y", "z"]


@given(st.integers(min_value=0, max_value=20000), st.integers(min_value=1, max_value=5000))
def test_chunks_are_few_powers_of_two_that_add_up(n: int, most: int) -> None:
    sizes = _chunks(n, most)
    assert sum(sizes) == n
    assert all(s & (s - 1) == 0 and s <= most for s in sizes)
    assert sizes == sorted(sizes, reverse=True)


async def test_another_process_holding_the_lock_makes_the_group_wait_off_the_loop(
    tmp_path: Path,
) -> None:
    box = await open_box(tmp_path / "a.db")
    other = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # say `stampedge queue retry` is writing right now
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        write = asyncio.create_task(box.append([_event()]))
        await asyncio.sleep(0.3)
        assert not write.done()
        assert ticks >= 10  # the loop kept serving while the group waited for the lock
        other.execute("COMMIT")
        await asyncio.wait_for(write, 5)
        beat.cancel()
        rows = await box.fetchall("SELECT COUNT(*) FROM outbox")
        assert rows[0][0] == 1
        # and the next group is staged on the loop again, without waiting
        await box.append([_event()])
    finally:
        other.close()
        await box.close()


def _event() -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type="order.recorded",
        payload={"order_id": "O-1", "total": "1.00"},
        device_time=datetime.now(UTC),
    )
