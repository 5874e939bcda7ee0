"""The fleet simulator (``bench/fleet.py``) for a few seconds: every event applied once, every
state pull a valid state. Not timed: the bench measures; this checks the cloud under its load."""

from pathlib import Path

import pytest

from bench.fleet import provision, run_step, tree_pids
from sync.cloud.store import open_db
from tests.sync.cloud.procs import CloudProcess, write_config

pytestmark = pytest.mark.slow


async def test_given_300_tills_for_a_few_seconds_then_every_event_is_applied_exactly_once(
    store_url: str, tmp_path: Path
) -> None:
    config, port = write_config(tmp_path, store_url)
    base = f"http://127.0.0.1:{port}"
    tills = await provision(store_url, 300, 6, [base])
    cloud = CloudProcess(config, port, tmp_path / "cloud.log")
    try:
        await cloud.wait_healthy()
        # Every till sends about twice and pulls the state at least once in the window.
        step, _, _, _ = await run_step(tills, 6.0, 3.0, 32, tree_pids(cloud.proc.pid))
        assert dict(step.errors) == {}
        assert step.events > 300 and step.applied == step.events
        assert step.pulls >= 1
    finally:
        cloud.stop()
    sent = set().union(*(t.sent for t in tills))
    db = await open_db(store_url)
    try:
        async with db.read() as tx:
            rows = await tx.fetch("SELECT id FROM events")
    finally:
        await db.close()
    stored = [str(r["id"]) for r in rows]
    assert len(stored) == len(set(stored)) == len(sent)
    assert set(stored) == sent
