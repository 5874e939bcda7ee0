"""Phone numbers at the till, from the card cache (the cloud unreachable): a customer cached as
``+49 30 1234567`` in a German shop is found when typed ``030 1234567``, and a check identified
by that phone is sent to the cloud in E.164."""

import json
from typing import Any

from aiohttp.test_utils import TestClient

from agent.http.state import DB
from sync.contract.events import CardState
from sync.edge.state_pull import COUNTRY_KEY, card_statements, kv_set
from tests.agent.conftest import AgentFactory

Client = TestClient[Any, Any]
JONAS = CardState(customer_id="7", card_code="JNS7K2Q9", number="204060", name="Jonas",
                  phone="+49301234567", balance=3)  # fmt: skip


async def _german_till(make_agent: AgentFactory) -> Client:
    agent = await make_agent(agent={"mode": "identified"})
    await agent.app[DB].write([*card_statements([JONAS]), kv_set(COUNTRY_KEY, "DE")])
    return agent


async def test_given_a_cached_phone_when_typed_the_local_way_then_found_in_the_cache(
    make_agent: AgentFactory,
) -> None:
    agent = await _german_till(make_agent)
    for typed in ("030 1234567", "+49 (30) 123-4567"):
        resp = await agent.get("/v1/customers", params={"q": typed})
        body = await resp.json()
        assert body["source"] == "cache", body
        assert [(c["customer_id"], c["phone"]) for c in body["customers"]] == [
            ("7", "+49301234567")
        ]
    other = await (await agent.get("/v1/customers", params={"q": "030 7654321"})).json()
    assert other["customers"] == []


async def test_given_a_check_identified_by_phone_then_the_event_names_it_in_e164(
    make_agent: AgentFactory,
) -> None:
    agent = await _german_till(make_agent)
    body = {"order_id": "PH-1", "total": "12.00", "currency": "EUR", "till": "till-1",
            "customer": {"phone": "030 1234567"}}  # fmt: skip
    resp = await agent.post("/v1/orders", json=body)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["customer"]["phone"] == "+49301234567"
    rows = await agent.app[DB].fetchall("SELECT payload FROM outbox")
    assert [json.loads(r["payload"])["customer"] for r in rows] == [{"phone": "+49301234567"}]
    quote = await agent.post("/v1/orders/quote", json={**body, "order_id": "PH-2"})
    assert quote.status == 200, await quote.text()
    assert (await quote.json())["balance_before"] == 3

    bad = await agent.post("/v1/orders", json={**body, "order_id": "PH-3",
                                                "customer": {"phone": "030 12"}})  # fmt: skip
    assert bad.status == 422
    assert (await bad.json())["error"]["field"] == "customer.phone"
