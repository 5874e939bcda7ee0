"""Retention at the till: checks, scans and print jobs older than ``agent.retention_days`` go once
the cloud has them; a void, reprint or look-up of a pruned check answers 410 ``order_pruned``."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from agent.db import retention
from agent.http.state import DB
from config import ConfigError
from tests.agent.conftest import AgentFactory, agent_settings

Client = TestClient[Any, Any]
NOW = datetime.now(UTC)


class Hands:
    """A clock the test moves."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def _given_old_and_new_checks(make_agent: AgentFactory) -> tuple[Client, Hands]:
    hands = Hands(NOW - timedelta(days=500))
    agent = await make_agent(clock=hands)
    body = {"total": "20.00", "currency": "EUR", "till": "till-1"}
    for oid in ("OLD-1", "OLD-2"):
        assert (await agent.post("/v1/orders", json={**body, "order_id": oid})).status == 201
    scan = {"code": "123456", "till": "till-1", "mode": "manual"}
    assert (await agent.post("/v1/scans", json=scan)).status < 500
    hands.at = NOW - timedelta(days=3)
    assert (await agent.post("/v1/orders", json={**body, "order_id": "NEW-1"})).status == 201
    db = agent.app[DB]
    long_ago = (NOW - timedelta(days=500)).timestamp()
    job = ("INSERT INTO print_jobs (job_id, order_id, kind, status, receipt, created_at, "
           "updated_at, deadline) VALUES (?, 'OLD-1', 'receipt', ?, '{}', ?, ?, ?)")  # fmt: skip
    await db.write([
        (job, ("job-done", "confirmed", long_ago, long_ago, long_ago)),
        (job, ("job-queued", "queued", long_ago, long_ago, long_ago)),
        ("UPDATE scans SET created_at = ?", (long_ago,)),
    ])  # fmt: skip
    return agent, hands


async def test_given_old_checks_not_yet_synced_then_nothing_of_them_is_pruned(
    make_agent: AgentFactory,
) -> None:
    agent, _ = await _given_old_and_new_checks(make_agent)
    pruned = await retention.prune(agent.app[DB], 400, time.time())
    assert pruned.orders == 0
    assert (await agent.get("/v1/orders/OLD-1")).status == 200


async def test_given_synced_checks_past_retention_then_pruned_and_a_void_answers_410(
    make_agent: AgentFactory,
) -> None:
    """Given two checks 500 days old and one 3 days old, all acknowledged by the cloud, when
    housekeeping prunes at 400 days, then the old checks, the old scan and the finished print
    job go; a void, reprint or GET of an old check answers 410 order_pruned, an unknown one 404
    unknown_order, and the recent check can still be voided."""
    agent, hands = await _given_old_and_new_checks(make_agent)
    db = agent.app[DB]
    await db.write([("UPDATE outbox SET state = 'acked', acked_at = ?", (time.time(),))])

    pruned = await retention.prune(db, 400, time.time())

    assert (pruned.orders, pruned.scans, pruned.print_jobs) == (2, 1, 1)
    left = await db.fetchall("SELECT job_id FROM print_jobs")
    assert [r["job_id"] for r in left] == ["job-queued"]
    for method, path in (("POST", "/v1/orders/OLD-1/void"), ("GET", "/v1/orders/OLD-2"),
                         ("POST", "/v1/orders/OLD-1/reprint")):  # fmt: skip
        resp = await agent.request(method, path, json={} if method == "POST" else None)
        assert resp.status == 410, (path, await resp.text())
        error = (await resp.json())["error"]
        assert error["code"] == "order_pruned" and error["field"] == "order_id"
    unknown = await agent.post("/v1/orders/NEVER/void", json={})
    assert (await unknown.json())["error"]["code"] == "unknown_order"
    hands.at = NOW
    assert (await agent.post("/v1/orders/NEW-1/void", json={})).status == 200
    assert await retention.prune(db, 400, time.time()) == retention.Pruned()


def test_retention_days_defaults_to_400_and_refuses_less_than_a_day(tmp_path: Path) -> None:
    assert agent_settings(tmp_path).agent.retention_days == 400
    with pytest.raises(ConfigError, match="retention_days"):
        agent_settings(tmp_path, agent={"retention_days": 0})
