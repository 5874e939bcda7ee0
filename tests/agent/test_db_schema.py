"""The agent's database across releases: an old file migrates in place, a newer one is refused."""

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.db import SCHEMA_VERSION, DatabaseTooNew, open_agent_db
from agent.db.schema import MIGRATIONS
from tests.agent.conftest import AgentFactory

FIXTURE = Path(__file__).parent / "fixtures" / "agent-0.1.0.db"


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def _set_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def test_the_fixture_is_the_previous_release_s_file() -> None:
    """Given the committed file (made by 0.1.0 through its API: three checks, a void, a kiosk
    scan, two receipts), then it has no schema version, as that release wrote none."""
    assert _version(FIXTURE) == 0
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 1


async def test_given_a_previous_release_s_database_when_the_agent_starts_then_it_keeps_every_check(
    tmp_data: Path, make_agent: AgentFactory
) -> None:
    tmp_data.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, tmp_data / "agent.db")
    agent = await make_agent()

    # Checks recorded by the old release answer as they did, and stay idempotent.
    seen = await agent.get("/v1/orders/R1-0")
    assert seen.status == 200
    first = (await seen.json())["order"]
    again = await agent.post(
        "/v1/orders", json={"order_id": "R1-0", "total": "23.50", "till": "till-1"}
    )
    assert again.status == 200
    assert (await again.json())["stamps"] == first["stamps"] == 2
    voided = await (await agent.get("/v1/orders/R1-1")).json()
    assert voided["void"] is not None
    # The events it had not sent are still waiting; new checks land beside them.
    health = await (await agent.get("/health")).json()
    assert health["outbox"]["pending"] == 5
    new = await agent.post("/v1/orders", json={"order_id": "R2-0", "total": "12"})
    assert new.status == 201
    await agent.close()
    assert _version(tmp_data / "agent.db") == SCHEMA_VERSION


async def test_given_an_old_file_when_another_till_uses_an_old_check_id_then_both_are_kept(
    tmp_data: Path, make_agent: AgentFactory
) -> None:
    """Given the previous release's file (check R1-0 at till-1, keyed by its id alone), when
    till-2 records its own check R1-0 (issue #14: check numbers are unique per till), then both
    are kept: till-1's answers as before, each is found with ``?till=``, and a bare id that two
    tills used is refused as ambiguous rather than guessed."""
    tmp_data.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE, tmp_data / "agent.db")
    agent = await make_agent()
    first = await (await agent.get("/v1/orders/R1-0")).json()
    other = await agent.post(
        "/v1/orders", json={"order_id": "R1-0", "total": "99.00", "till": "till-2"}
    )
    assert other.status == 201, await other.text()
    again = await agent.post(
        "/v1/orders", json={"order_id": "R1-0", "total": "23.50", "till": "till-1"}
    )
    assert again.status == 200
    changed = await agent.post(
        "/v1/orders", json={"order_id": "R1-0", "total": "1.00", "till": "till-1"}
    )
    assert changed.status == 409
    unclear = await agent.get("/v1/orders/R1-0")
    assert unclear.status == 409
    assert (await unclear.json())["error"]["code"] == "ambiguous_order"
    old = await (await agent.get("/v1/orders/R1-0", params={"till": "till-1"})).json()
    assert old == first
    new = await (await agent.get("/v1/orders/R1-0", params={"till": "till-2"})).json()
    assert new["order"]["total"] == "99.00"
    bad = await agent.get("/v1/orders/R1-0", params={"till": "a\x00b"})
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "till"
    await agent.close()


async def test_a_new_database_starts_at_this_release_s_version(tmp_path: Path) -> None:
    db = await open_agent_db(tmp_path / "agent.db")
    try:
        assert await db.schema_version() == SCHEMA_VERSION
    finally:
        await db.close()


async def test_a_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    shutil.copy(FIXTURE, path)
    _set_version(path, SCHEMA_VERSION + 1)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        db = await open_agent_db(path)
    except DatabaseTooNew as err:
        assert err.found == SCHEMA_VERSION + 1
    else:
        await db.close()
        raise AssertionError("a newer database was opened")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _cli(*args: str, config: Path) -> subprocess.CompletedProcess[Any]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_given_a_newer_database_the_agent_and_queue_commands_exit_2_with_one_line(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "agent.db")
    _set_version(data / "agent.db", SCHEMA_VERSION + 7)
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[agent]\nlisten = "127.0.0.1:0"\ndata_dir = "{data}"\n'
        '[cloud]\nurl = ""\ndevice_secret = "test-device-secret-0123456789"\n'
    )
    for args in (("agent",), ("queue", "status")):
        proc = _cli(*args, config=config)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("stampedge: the agent database has schema version")
        assert "Traceback" not in proc.stderr
