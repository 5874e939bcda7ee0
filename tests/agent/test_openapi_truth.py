"""The agent's ``/openapi.json`` tells the truth (issue #14): it names every route the agent
serves (its pages included) and nothing it does not; no two schemas share a title; and a client
generated from it by ``openapi-python-client`` has a function for every JSON operation and
records, reads and voids a check on a live agent without hand edits."""

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.openapi_check import (
    generate,
    generated_functions,
    httpx_client,
    json_operations,
    problems,
    route_gaps,
)


async def test_given_the_agent_then_its_spec_names_every_served_route_and_only_those(
    agent: TestClient[Any, Any],
) -> None:
    doc = await (await agent.get("/openapi.json")).json()
    assert await route_gaps(agent.app, doc) == ([], [])
    titles = [s.get("title") for s in doc["components"]["schemas"].values()]
    assert len(titles) == len(set(titles)), sorted(titles)


async def test_given_a_client_generated_from_the_spec_then_it_calls_the_live_agent(
    agent: TestClient[Any, Any], tmp_path: Path
) -> None:
    doc = await (await agent.get("/openapi.json")).json()
    package, report = await asyncio.to_thread(generate, doc, tmp_path, "agent_client")
    assert problems(report) == []
    functions = await asyncio.to_thread(generated_functions, package)
    assert json_operations(doc) <= functions.keys(), json_operations(doc) - functions.keys()

    models: Any = __import__("agent_client.models", fromlist=["*"])
    base = str(agent.make_url("")).rstrip("/")
    client = package.Client(base_url=base)
    client.set_async_httpx_client(await httpx_client(base))
    try:
        health = await functions["get_health"].asyncio_detailed(client=client)
        assert health.status_code == 200
        body = models.OrderRequest.from_dict({"order_id": "G-1", "total": "25.00", "till": "t1"})
        placed = await functions["post_v1_orders"].asyncio_detailed(client=client, body=body)
        assert placed.status_code == 201 and placed.parsed.stamps == 2
        again = await functions["post_v1_orders"].asyncio_detailed(client=client, body=body)
        assert again.status_code == 200 and again.parsed.to_dict() == placed.parsed.to_dict()
        seen = await functions["get_v1_orders_order_id"].asyncio_detailed(
            order_id="G-1", client=client, till="t1"
        )
        assert seen.status_code == 200 and seen.parsed.order.order_id == "G-1"
        voided = await functions["post_v1_orders_order_id_void"].asyncio_detailed(
            order_id="G-1", client=client, till="t1", body=models.VoidRequest(reason="refund")
        )
        assert voided.status_code == 200 and voided.parsed.stamps == 2
        quote = await functions["post_v1_orders_quote"].asyncio_detailed(
            client=client, body=models.OrderRequest.from_dict({"total": "30", "order_id": "Q"})
        )
        assert quote.status_code == 200, quote.content
        found = await functions["get_v1_customers"].asyncio_detailed(client=client, q="nobody")
        assert found.status_code == 200 and found.parsed.customers == []
    finally:
        await client.get_async_httpx_client().aclose()
