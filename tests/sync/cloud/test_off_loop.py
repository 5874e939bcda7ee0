"""A big batch's ledger work runs off the event loop; a fleet's small batch stays on it (issue
#14, ``sync/cloud/store/off_loop.py``), on SQLite and PostgreSQL, through the real app."""

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from sync.cloud import ledger
from sync.cloud.book import Book
from sync.cloud.records import Incoming
from sync.contract.limits import MAX_BATCH
from tests.clock import START
from tests.sync.cloud.conftest import Cloud
from tests.sync.cloud.test_ingest_pipeline import _batches, _rows, _run, _world, streams


def _checks(card: str, n: int) -> list[dict[str, Any]]:
    return [
        {"id": str(uuid.uuid4()), "type": "order.stamped", "device_time": START.isoformat(),
         "payload": {"order_id": f"o-{uuid.uuid4().hex[:12]}", "total": "9.50",
                     "currency": "EUR", "stamps": 3, "rule": "per_order", "till": "t1",
                     "customer": {"card": card}}}
        for _ in range(n)
    ]  # fmt: skip


async def test_given_a_full_batch_then_its_ledger_rules_run_off_the_loop_while_the_loop_serves(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a card, when a device sends a full batch of checks and then two checks, then the
    full batch's ledger rules run on another thread than the loop's, and while they run the
    loop answers another request; the two checks' rules run on the loop; both are applied."""
    loop_thread = threading.current_thread()
    seen: list[tuple[int, threading.Thread]] = []
    entered, release = threading.Event(), threading.Event()
    real = ledger.apply_batch

    def recording(book: Book, items: list[Incoming]) -> Any:
        seen.append((len(items), threading.current_thread()))
        if len(items) == MAX_BATCH and threading.current_thread() is not loop_thread:
            entered.set()
            release.wait(5)  # held until the loop has answered /health
        return real(book, items)

    monkeypatch.setattr(ledger, "apply_batch", recording)
    made = await cloud.http.post("/v1/customers", headers=cloud.admin(), json={"name": "Ann"})
    card = (await made.json())["card_code"]

    full = {"events": _checks(card, MAX_BATCH)}
    big = asyncio.create_task(cloud.http.post("/v1/sync/events", headers=cloud.device(), json=full))
    for _ in range(500):
        if entered.is_set() or big.done():
            break
        await asyncio.sleep(0.01)
    health = await asyncio.wait_for(cloud.http.get("/health"), 2)
    served_meanwhile = entered.is_set() and not big.done() and health.status == 200
    release.set()
    answer = await big
    assert answer.status == 200
    assert {r["status"] for r in (await answer.json())["results"]} == {"applied"}

    small = await cloud.http.post("/v1/sync/events", headers=cloud.device(),
                                  json={"events": _checks(card, 2)})  # fmt: skip
    assert small.status == 200
    assert [r["status"] for r in (await small.json())["results"]] == ["applied", "applied"]

    assert [n for n, _ in seen] == [MAX_BATCH, 2]
    assert seen[0][1] is not loop_thread
    assert seen[1][1] is loop_thread
    assert served_meanwhile
    got = await cloud.http.get(f"/v1/cards/{card}", headers=cloud.admin())
    assert (await got.json())["balance"] == (MAX_BATCH + 2) * 3 % 10


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(streams)
def test_given_every_batch_off_the_loop_then_the_pipeline_writes_what_one_by_one_does(
    tmp_path: Path, stream: list[list[tuple[str, int, int, int]]]
) -> None:
    """Given any stream of batches (``test_ingest_pipeline``'s), when they are sent at once to
    a SQLite store whose ledger steps all run on the ledger thread (even a one-event batch's),
    then the outcomes and every row written are those of the same batches sent one by one
    on the loop: the hop keeps the pipeline's order and carry-over."""

    async def check() -> None:
        results = []
        for off_loop in (False, True):
            store, devices, cards = await _world(tmp_path / f"{uuid.uuid4().hex}.db")
            if off_loop:
                store.off_loop.min_events = 1
            try:
                outcomes = await _run(store, devices, _batches(stream, cards), together=off_loop)
                results.append((outcomes, await _rows(store, cards)))
            finally:
                await store.close()
        assert results[1] == results[0]

    asyncio.run(check())
