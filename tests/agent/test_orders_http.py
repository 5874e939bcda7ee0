"""The POS's API through real HTTP and a real SQLite file: orders, idempotency, errors, voids."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sync.contract.claim_token import verify
from tests.agent.conftest import SECRET, AgentFactory

Client = TestClient[Any, Any]


async def _events(agent: Client) -> list[dict[str, Any]]:
    from agent.http.state import OUTBOX

    rows = await agent.app[OUTBOX].fetchall("SELECT type, payload, state FROM outbox")
    return [{"type": r["type"], "payload": json.loads(r["payload"])} for r in rows]


async def test_given_a_paid_check_when_posted_then_201_with_stamps_and_a_signed_claim(
    agent: Client,
) -> None:
    resp = await agent.post("/v1/orders", json={"order_id": "A-1", "total": "23.50"})
    assert resp.status == 201
    body = await resp.json()
    assert body["stamps"] == 2 and body["rule"] == "by_amount" and body["currency"] == "EUR"
    url = body["claim"]["url"]
    assert len(url) < 80 and url == url.upper()
    token = url.rsplit("/", 1)[1]
    claim = verify(token, secret=SECRET, now=datetime.now(UTC))
    assert claim.stamps == 2 and claim.device_id == 7
    events = await _events(agent)
    assert [e["type"] for e in events] == ["receipt_qr.issued"]
    assert events[0]["payload"]["order_id"] == "A-1"


async def test_given_the_same_check_twice_then_200_same_answer_and_nothing_added(
    agent: Client,
) -> None:
    body = {"order_id": "A-2", "total": 12, "till": "till-1"}
    first = await agent.post("/v1/orders", json=body)
    again = await agent.post("/v1/orders", json=body)
    assert (first.status, again.status) == (201, 200)
    assert await first.json() == await again.json()
    assert len(await _events(agent)) == 1


async def test_given_an_order_id_reused_with_another_body_then_409(agent: Client) -> None:
    await agent.post("/v1/orders", json={"order_id": "A-3", "total": "10"})
    resp = await agent.post("/v1/orders", json={"order_id": "A-3", "total": "11"})
    assert resp.status == 409
    err = (await resp.json())["error"]
    assert err["code"] == "order_conflict" and err["field"] == "order_id"
    assert len(await _events(agent)) == 1


async def test_given_an_identified_customer_then_stamped_without_claim(agent: Client) -> None:
    resp = await agent.post(
        "/v1/orders", json={"order_id": "B-1", "total": "30", "customer": {"number": "123456"}}
    )
    body = await resp.json()
    assert resp.status == 201 and body["claim"] is None and body["stamps"] == 3
    assert [e["type"] for e in await _events(agent)] == ["order.stamped"]


async def test_given_identified_mode_then_no_claim_unless_asked(make_agent: AgentFactory) -> None:
    agent = await make_agent(agent={"mode": "identified"})
    plain = await (await agent.post("/v1/orders", json={"order_id": "C-1", "total": "30"})).json()
    asked = await (
        await agent.post("/v1/orders", json={"order_id": "C-2", "total": "30", "receipt_qr": True})
    ).json()
    assert plain["claim"] is None and asked["claim"] is not None
    assert [e["type"] for e in await _events(agent)] == ["order.recorded", "receipt_qr.issued"]


async def test_given_per_order_rule_then_n_stamps_whatever_the_total(
    make_agent: AgentFactory,
) -> None:
    agent = await make_agent(program={"rule": "per_order", "stamps_per_order": 2})
    body = await (await agent.post("/v1/orders", json={"order_id": "P", "total": "0.5"})).json()
    assert body["stamps"] == 2 and body["rule"] == "per_order"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"order_id": "X", "total": ', None),
        ("[1, 2]", None),
        ('{"order_id": "X", "total": "abc"}', "total"),
        ('{"order_id": "X", "total": true}', "total"),
        ('{"order_id": 5, "total": "1"}', "order_id"),
        ('{"order_id": "X", "total": "-1"}', "total"),
        ('{"order_id": "X", "total": NaN}', None),
        ('{"order_id": "X", "total": "NaN"}', "total"),
        ('{"order_id": "X", "total": "Infinity"}', "total"),
        ('{"order_id": "X", "total": 1e400}', "total"),
        ('{"order_id": "X", "total": "99999999999999999999"}', "total"),
        ('{"order_id": "X", "total": "1.123456"}', "total"),
        ('{"order_id": "' + "x" * 65 + '", "total": "1"}', "order_id"),
        ('{"order_id": "has space", "total": "1"}', "order_id"),
        ('{"order_id": "X", "total": "1", "tip": 3}', "tip"),
        ('{"order_id": "X", "total": "1", "currency": "euro"}', "currency"),
        ('{"order_id": "X", "total": "1", "currency": "USD"}', "currency"),
        ('{"order_id": "X", "total": "1", "customer": {}}', "customer"),
        ('{"order_id": "X", "total": "1", "customer": {"number": "12"}}', "customer.number"),
        ('{"order_id": "X", "total": "1", "customer": {"card": "SCNOTACARD"}}', "customer.card"),
        ('{"total": "1"}', "order_id"),
        ("", None),
    ],
)
async def test_given_bad_input_then_422_with_a_json_error_naming_the_field(
    agent: Client, raw: str, field: str | None
) -> None:
    resp = await agent.post(
        "/v1/orders", data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 422, await resp.text()
    err = (await resp.json())["error"]
    assert err["code"] and err["message"]
    if field is not None:
        assert err["field"] == field
    assert await _events(agent) == []


async def test_given_a_body_over_64_kb_then_413_json(agent: Client) -> None:
    big = json.dumps({"order_id": "Z", "total": "1", "pad": "x" * 70_000})
    resp = await agent.post(
        "/v1/orders", data=big.encode(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"


async def test_given_a_recorded_check_when_voided_then_stamps_taken_back_once(
    agent: Client,
) -> None:
    await agent.post("/v1/orders", json={"order_id": "V-1", "total": "20"})
    first = await agent.post("/v1/orders/V-1/void", json={"reason": "refund"})
    again = await agent.post("/v1/orders/V-1/void")
    assert first.status == 200 and again.status == 200
    assert (await first.json())["stamps"] == 2
    assert await first.json() == await again.json()
    assert [e["type"] for e in await _events(agent)] == ["receipt_qr.issued", "order.voided"]
    missing = await agent.post("/v1/orders/NOPE/void")
    assert missing.status == 404 and (await missing.json())["error"]["code"]


async def test_given_a_recorded_check_then_get_shows_its_answer_and_later_its_void(
    agent: Client,
) -> None:
    # A POS that lost the answer (a timeout, a crash) can ask without sending the body again.
    posted = await (await agent.post("/v1/orders", json={"order_id": "G/1", "total": "20"})).json()
    resp = await agent.get("/v1/orders/G%2F1")
    assert resp.status == 200
    # no cloud here: the check's rewards wait for the cloud's answer
    pending = {"status": "pending", "card_code": None, "stamps": None, "balance": None,
               "issued": [], "lottery": []}  # fmt: skip
    assert await resp.json() == {"order": posted, "void": None, "rewards": pending, "redeemed": []}
    voided = await (await agent.post("/v1/orders/G%2F1/void")).json()
    assert await (await agent.get("/v1/orders/G%2F1")).json() == {
        "order": posted, "void": voided, "rewards": pending, "redeemed": []}  # fmt: skip
    assert len(await _events(agent)) == 2  # reading adds nothing
    missing = await agent.get("/v1/orders/NOPE")
    error = (await missing.json())["error"]
    assert missing.status == 404 and error["code"] == "unknown_order"
    assert error["field"] == "order_id"


async def test_given_a_restart_then_the_repeat_still_answers_the_first_answer(
    make_agent: AgentFactory,
) -> None:
    first_agent = await make_agent()
    first = await (
        await first_agent.post("/v1/orders", json={"order_id": "R-1", "total": "40"})
    ).json()
    await first_agent.close()
    second_agent = await make_agent()
    resp = await second_agent.post("/v1/orders", json={"order_id": "R-1", "total": "40"})
    assert resp.status == 200 and await resp.json() == first


async def test_health_metrics_openapi_and_status_page(agent: Client) -> None:
    await agent.post("/v1/orders", json={"order_id": "H-1", "total": "10"})
    health = await (await agent.get("/health")).json()
    assert health["status"] == "ok"
    assert health["outbox"]["pending"] == 1 and health["outbox"]["dead"] == 0
    assert health["outbox"]["oldest_pending_age_s"] is not None
    assert {"reachable", "last_sync_at"} <= set(health["cloud"])
    assert {"state", "detail"} <= set(health["printer"]) and health["scanners"] == []
    metrics = await (await agent.get("/metrics")).text()
    assert "stampedge_outbox_events" in metrics or "outbox" in metrics
    doc = await (await agent.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.") and "/v1/orders" in doc["paths"]
    page = await agent.get("/")
    assert page.status == 200 and "H-1" in await page.text()


async def test_metrics_count_refused_requests_too(agent: Client) -> None:
    # a POS that keeps sending bad checks shows up in the figures, not only the good ones
    await agent.post("/v1/orders", json={"order_id": "M-1", "total": "10"})
    await agent.post("/v1/orders", json={"order_id": "M-2", "total": "-1"})
    metrics = await (await agent.get("/metrics")).text()
    route = 'method="POST",route="/v1/orders"'
    assert f'stampedge_http_requests_total{{{route},status="201"}} 1.0' in metrics
    assert f'stampedge_http_requests_total{{{route},status="422"}} 1.0' in metrics


async def test_unknown_route_and_wrong_method_answer_json(agent: Client) -> None:
    for resp in (await agent.get("/nope"), await agent.get("/v1/orders")):
        assert resp.status in (404, 405)
        assert "error" in await resp.json()
