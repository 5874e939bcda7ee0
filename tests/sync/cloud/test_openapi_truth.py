"""The cloud's ``/openapi.json`` tells the truth (issue #14): it names every route the app serves
(pages, forms and the wallets' routes included) and nothing it does not; no two schemas share a
title; and a client generated from it by ``openapi-python-client`` has a function for every JSON
operation and talks to a live cloud without hand edits."""

import asyncio
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from sync.cloud.api_doc import openapi_document
from sync.cloud.app import VERSION
from sync.cloud.wallet.routes import add_wallet_routes
from tests.clock import START
from tests.openapi_check import (
    generate,
    generated_functions,
    httpx_client,
    json_operations,
    problems,
    route_gaps,
)
from tests.sync.cloud.conftest import Cloud


async def test_given_the_cloud_then_its_spec_names_every_served_route_and_only_those(
    cloud: Cloud,
) -> None:
    resp = await cloud.http.get("/openapi.json")
    doc = await resp.json()
    unnamed, unserved = await route_gaps(cloud.http.app, doc)
    assert (unnamed, unserved) == ([], [])
    health = doc["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    assert health["schema"] == {"$ref": "#/components/schemas/HealthOut"}
    titles = [s.get("title") for s in doc["components"]["schemas"].values()]
    assert len(titles) == len(set(titles)), sorted(titles)


async def test_given_both_wallets_then_the_spec_names_their_routes_too() -> None:
    app = web.Application()
    add_wallet_routes(app, apple=True, google=True)
    wallet_doc = openapi_document(VERSION, apple=True, google=True)
    wallet_doc["paths"] = {
        path: {m: op for m, op in ops.items() if op.get("tags") == ["wallet"]}
        for path, ops in wallet_doc["paths"].items()
    }
    wallet_doc["paths"] = {p: ops for p, ops in wallet_doc["paths"].items() if ops}
    assert await route_gaps(app, wallet_doc) == ([], [])
    without = openapi_document(VERSION)
    assert not any("/wallet/" in p or p.endswith("pass.pkpass") for p in without["paths"])


async def test_given_a_client_generated_from_the_spec_then_it_calls_the_live_cloud(
    cloud: Cloud, tmp_path: Path
) -> None:
    doc = await (await cloud.http.get("/openapi.json")).json()
    package, report = await asyncio.to_thread(generate, doc, tmp_path, "cloud_client")
    assert problems(report) == []
    functions = await asyncio.to_thread(generated_functions, package)
    assert json_operations(doc) <= functions.keys(), json_operations(doc) - functions.keys()

    models: Any = __import__("cloud_client.models", fromlist=["*"])
    base = str(cloud.http.make_url("")).rstrip("/")
    admin = package.AuthenticatedClient(base_url=base, token=cloud.link["admin_key"])
    admin.set_async_httpx_client(await httpx_client(base))
    admin.get_async_httpx_client().headers["Authorization"] = f"Bearer {cloud.link['admin_key']}"
    device = package.AuthenticatedClient(base_url=base, token=cloud.link["device_key"])
    device.set_async_httpx_client(await httpx_client(base))
    device.get_async_httpx_client().headers["Authorization"] = f"Bearer {cloud.link['device_key']}"
    try:
        health = await functions["get_health"].asyncio(client=admin)
        assert isinstance(health, models.HealthOut) and health.status == "ok"

        made = await functions["post_v1_customers"].asyncio_detailed(
            client=admin, body=models.CustomerIn(email="gen@example.com")
        )
        assert made.status_code == 201 and isinstance(made.parsed, models.CustomerOut)
        card = made.parsed.card_code

        branches = await functions["get_v1_branches"].asyncio(client=admin)
        assert isinstance(branches, models.BranchList)
        branch = branches.branches[0]
        program = branch.program.to_dict()
        program["goal"] = 12
        changed = await functions["put_v1_branches_id_program"].asyncio_detailed(
            id=str(branch.branch_id), client=admin,
            body=models.ProgramConfigInput.from_dict(program),
        )  # fmt: skip
        assert changed.status_code == 200 and changed.parsed.program.goal == 12

        event = {
            "id": str(uuid.uuid4()), "type": "order.stamped", "device_time": START.isoformat(),
            "payload": {"order_id": "G-1", "total": "5", "currency": "EUR", "stamps": 1,
                        "rule": "per_order", "till": "till-1", "customer": {"card": card}},
        }  # fmt: skip
        sent = await functions["post_v1_sync_events"].asyncio_detailed(
            client=device, body=models.EventBatch.from_dict({"events": [event]})
        )
        assert sent.status_code == 200, sent.content
        assert [r.status for r in sent.parsed.results] == ["applied"]

        state = await functions["get_v1_sync_state"].asyncio(client=device)
        assert isinstance(state, models.SyncState)
        seen = await functions["get_v1_cards_card_code"].asyncio(card_code=card, client=admin)
        assert isinstance(seen, models.CardOut) and seen.balance == 1
        stats = await functions["get_v1_stats"].asyncio_detailed(client=admin)
        assert stats.status_code == 200 and isinstance(stats.parsed, models.StatsOut)
        devices = await functions["get_v1_devices"].asyncio(client=admin)
        assert isinstance(devices, models.DeviceList) and len(devices.devices) == 1
    finally:
        await admin.get_async_httpx_client().aclose()
        await device.get_async_httpx_client().aclose()
