"""The SQLite batch pipeline (``sync/cloud/store/ingest.py``) reads the next batch before the
previous one is written and carries the difference over: given any stream of batches from
several devices, branches and businesses, sent all at once, the outcomes and every row written
are those of the same batches sent one after another."""

import asyncio
import json
import random
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync.cloud import intake
from sync.cloud.models import ProgramConfig
from sync.cloud.store import Store, ingest, open_store
from sync.cloud.store.tenancy import Principal
from sync.contract import claim_token
from tests.clock import START

ORDER_IDS = [f"O-{i}" for i in range(6)]
EMAILS = ["new@example.com", "other@example.com"]

step = st.tuples(
    st.sampled_from(["stamped", "qr", "recorded", "scan", "void", "attach", "resend", "changed"]),
    st.integers(0, 5),  # which order id
    st.integers(0, 6),  # which card (5, 6: an email nobody has yet)
    st.integers(0, 3),  # which device
)
streams = st.lists(st.lists(step, min_size=1, max_size=6), min_size=2, max_size=8)


async def _world(path: Path) -> tuple[Store, list[Principal], list[str]]:
    """Two businesses: the first with two branches (devices 0 and 1 in one, 2 in the other)
    and five cards, the second with one branch (device 3) and no cards."""
    store = await open_store(f"sqlite:///{path}")
    program = ProgramConfig(rule="per_order", goal=3, reward="gift")
    devices: list[Principal] = []
    refs: list[str] = []
    for name, branches in (("A", [2, 1]), ("B", [1])):
        business_id, _ = await store.create_business(name, START)
        admin = Principal("admin", business_id)
        for b, count in enumerate(branches):
            branch = await store.create_branch(business_id, f"{name}{b}", "UTC", program, START)
            for d in range(count):
                made = await store.create_device(business_id, branch.branch_id, f"d{d}", START)
                devices.append(Principal("device", business_id, branch.branch_id, made.device_id))
        if name == "A":
            for i in range(5):
                c = await store.create_customer(admin, f"c{i}@example.com", None, START)
                refs.append(c.card_code)
    return store, devices, refs


def _batches(stream: list[list[tuple[str, int, int, int]]], cards: list[str]) -> list[Any]:
    """Wire batches (device index, JSON body) from the drawn steps."""
    sent: list[dict[str, Any]] = []
    out = []
    for n, steps in enumerate(stream):
        events = []
        device = steps[0][3]
        for kind, o, c, _ in steps:
            oid = ORDER_IDS[o]
            who: dict[str, str] = {"card": cards[c]} if c < 5 else {"email": EMAILS[c - 5]}
            base = {"order_id": oid, "total": "5", "currency": "EUR", "stamps": 2,
                    "rule": "per_order"}  # fmt: skip
            if kind == "stamped":
                e = ("order.stamped", {**base, "customer": who})
            elif kind == "qr":
                expires = (START + timedelta(days=1)).isoformat()
                e = ("receipt_qr.issued", {**base, "order_ref": claim_token.order_ref(oid),
                                           "claim_expires_at": expires})  # fmt: skip
            elif kind == "recorded":
                e = ("order.recorded", base)
            elif kind == "scan":
                e = ("scan.stamped", {"scan_id": f"s{n}", "stamps": 1, "customer": who})
            elif kind == "void":
                e = ("order.voided", {"order_id": oid})
            elif kind == "attach":
                e = ("order.attached", {"order_id": oid, "customer": who})
            if kind in ("resend", "changed") and sent:
                again = dict(sent[o % len(sent)])
                if kind == "changed":
                    again["payload"] = {**again["payload"], "till": "changed"}
                events.append(again)
                continue
            if kind in ("resend", "changed"):
                continue
            wire = {"id": str(uuid.UUID(int=len(sent) + 1)), "type": e[0],
                    "device_time": START.isoformat(), "payload": e[1]}  # fmt: skip
            sent.append(wire)
            events.append(wire)
        out.append((device, json.dumps({"events": events}).encode()))
    return out


async def _run(
    store: Store, devices: list[Principal], batches: list[Any], *, together: bool
) -> Any:
    async def one(n: int, device: int, body: bytes) -> Any:
        items = intake.read_batch(body)
        assert items is not None
        now = START + timedelta(seconds=n)
        return await store.apply_incoming(devices[device], items, now, random.Random(n))

    calls = [one(n, device, body) for n, (device, body) in enumerate(batches)]
    if together:
        return list(await asyncio.gather(*calls))
    return [await call for call in calls]


async def _rows(store: Store, cards: list[str]) -> dict[str, Any]:
    """Every row written, card codes (random in each world) written as their index."""
    queries = {
        "events": "SELECT id, business_id, branch_id, device_id, type, payload, received_us,"
        " pos FROM events ORDER BY id",
        "orders": "SELECT * FROM orders ORDER BY branch_id, order_id",
        "qrs": "SELECT * FROM receipt_qrs ORDER BY branch_id, order_ref, device_id",
        "entries": "SELECT business_id, branch_id, device_id, customer_id, delta, kind, order_id,"
        " event_id, at_us FROM entries ORDER BY id",
        "rewards": "SELECT business_id, branch_id, device_id, customer_id, kind, source, state,"
        " issued_us, event_id FROM rewards ORDER BY event_id, customer_id, issued_us",
        "cards": "SELECT id, business_id, email, balance FROM customers ORDER BY id",
        "tallies": "SELECT * FROM tallies ORDER BY branch_id, second_us, device_id",
        "counters": "SELECT * FROM counters ORDER BY business_id",
    }
    async with store.db.read() as tx:
        got = {k: [tuple(r) for r in await tx.fetch(sql)] for k, sql in queries.items()}
    text = json.dumps(got)
    for i, code in enumerate(cards):
        text = text.replace(code, f"card-{i}")
    return dict(json.loads(text))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(streams)
@example([[("qr", 0, 0, 0)], [("void", 0, 0, 1)], [("qr", 1, 0, 0)], [("attach", 1, 5, 1)]])
@example([[("stamped", 0, 5, 0)], [("scan", 0, 5, 1), ("resend", 0, 0, 1)], [("void", 0, 0, 2)]])
def test_given_batches_sent_at_once_then_all_is_as_sent_one_by_one(
    tmp_path: Path, stream: list[list[tuple[str, int, int, int]]]
) -> None:
    async def check() -> None:
        results = []
        for together in (False, True):
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            store, devices, cards = await _world(path)
            try:
                batches = _batches(stream, cards)
                outcomes = await _run(store, devices, batches, together=together)
                results.append((outcomes, await _rows(store, cards)))
            finally:
                await store.close()
        (one_by_one, rows_one), (at_once, rows_all) = results
        assert at_once == one_by_one
        assert rows_all == rows_one

    asyncio.run(check())


def test_given_a_batch_arriving_while_the_last_commits_then_the_same_run_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a batch whose commit is under way, when another batch arrives meanwhile, then the
    writer reads it right behind that commit, in the same run (instead of once the commit is on
    disk and a new run has begun), and both come out as sent one by one."""
    stream = [[("stamped", 0, 0, 0), ("qr", 1, 0, 0)], [("stamped", 2, 0, 1), ("void", 1, 0, 1)]]

    async def check() -> None:
        store, devices, cards = await _world(tmp_path / "one_by_one.db")
        try:
            expected = await _run(store, devices, _batches(stream, cards), together=False)
            expected_rows = await _rows(store, cards)
        finally:
            await store.close()

        store, devices, cards = await _world(tmp_path / "overlapping.db")
        try:
            runs = 0
            pipeline = store.db.pipeline

            def counted() -> Any:
                nonlocal runs
                runs += 1
                return pipeline()

            monkeypatch.setattr(store.db, "pipeline", counted)
            entered, release = threading.Event(), threading.Event()
            write = ingest._write

            def held(plan: Any, conn: Any) -> None:  # the first batch's writes, then a pause
                write(plan, conn)
                if not entered.is_set():
                    entered.set()
                    release.wait(10)

            monkeypatch.setattr(ingest, "_write", held)
            (first, body_1), (second, body_2) = _batches(stream, cards)
            items_1, items_2 = intake.read_batch(body_1), intake.read_batch(body_2)
            assert items_1 is not None and items_2 is not None
            one = asyncio.create_task(
                store.apply_incoming(devices[first], items_1, START, random.Random(0))
            )
            await asyncio.to_thread(entered.wait, 10)  # its commit is queued behind the pause
            two = asyncio.create_task(
                store.apply_incoming(
                    devices[second], items_2, START + timedelta(seconds=1), random.Random(1)
                )
            )
            await asyncio.sleep(0.05)
            release.set()
            assert [await one, await two] == expected
            assert runs == 1
            assert await _rows(store, cards) == expected_rows
        finally:
            release.set()
            await store.close()

    asyncio.run(check())
